#include "ioc/config/source.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ioc/core/config_error.hpp"

namespace ioc::config {
namespace {

using std::chrono::milliseconds;

class SourceTest : public ::testing::Test {
 protected:
  std::string write(const std::string& yaml) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("ioc-config-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir);
    const auto path = dir / "ioc.yaml";
    std::ofstream(path) << yaml;
    return path.string();
  }
};

TEST_F(SourceTest, FlagsBeatEnvBeatFileBeatDefault) {
  const std::string f = write("http:\n  listen: ':1111'\n  timeout: 5s\nkafka:\n  bootstrap_servers: file:9092\n");
  Source s(f, {{"http.listen", ":3333"}}, {{"IOC_HTTP_LISTEN", ":2222"}, {"IOC_KAFKA_BOOTSTRAP_SERVERS", "env:9092"}});
  EXPECT_EQ(s.get_listen("http.listen", ":8080").port, 3333);
  EXPECT_EQ(s.get_string("kafka.bootstrap_servers", "x"), "env:9092");
  EXPECT_EQ(s.get_duration("http.timeout", milliseconds(1)), milliseconds(5000));
  EXPECT_EQ(s.get_int("http.max_connections", 64, 1, 100), 64);
}

TEST_F(SourceTest, ErrorsNameOriginKeyAndAllowed) {
  const std::string f = write("intake:\n  max_body_bytes: lots\n");
  Source s(f, {}, {});
  try {
    (void)s.get_int("intake.max_body_bytes", 1, 1, 100);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.source(), f);
    EXPECT_EQ(e.key(), "intake.max_body_bytes");
    EXPECT_NE(std::string(e.what()).find("must be an integer, got 'lots'"), std::string::npos) << e.what();
  }
  Source env({}, {}, {{"IOC_INTAKE_RATE", "500"}});
  EXPECT_THROW((void)env.get_int("intake.rate", 1, 1, 100), ConfigError);
}

TEST_F(SourceTest, FinishRejectsUnknownKeysInOwnedSections) {
  const std::string f = write("intake:\n  max_body_byte: 10\naggregator:\n  whatever: 1\n");
  Source s(f, {}, {});
  (void)s.get_int("intake.max_body_bytes", 1, 1, 100);
  EXPECT_THROW(s.finish({"intake"}), ConfigError);
  EXPECT_NO_THROW(s.finish({"http"}));  // other sections are someone else's
}

TEST_F(SourceTest, ParsesDurations) {
  EXPECT_EQ(Source::parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(Source::parse_duration("1m30s"), milliseconds(90'000));
  EXPECT_EQ(Source::parse_duration("2h"), milliseconds(7'200'000));
  EXPECT_EQ(Source::parse_duration("1d"), milliseconds(86'400'000));
  EXPECT_EQ(Source::parse_duration("0"), milliseconds(0));
  EXPECT_FALSE(Source::parse_duration("10"));
  EXPECT_FALSE(Source::parse_duration("-5s"));
  EXPECT_FALSE(Source::parse_duration("5 parsecs"));
  EXPECT_FALSE(Source::parse_duration("99999999999999999999d"));
}

TEST_F(SourceTest, ListsMapsAndPaths) {
  const std::string f = write(
      "kafka:\n  properties:\n    socket.timeout.ms: 1000\n  topics: [a, b]\nregistry:\n  districts: d.yaml\n");
  Source s(f, {{"kafka.properties.linger.ms", "5"}}, {{"IOC_SIM_DISTRICTS", "380, 381"}});
  EXPECT_EQ(s.get_list("kafka.topics", {}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.get_list("sim.districts", {}), (std::vector<std::string>{"380", "381"}));
  const auto props = s.get_map("kafka.properties");
  EXPECT_EQ(props.at("socket.timeout.ms"), "1000");
  EXPECT_EQ(props.at("linger.ms"), "5");
  EXPECT_EQ(s.get_path("registry.districts", "x.yaml", "/base"),
            (std::filesystem::path(f).parent_path() / "d.yaml").string());
  EXPECT_EQ(s.get_path("registry.categories", "c.yaml", "/base"), "/base/c.yaml");
}

TEST_F(SourceTest, ParsesArgv) {
  const char* argv[] = {"ioc-intake", "--set", "http.listen=:9999", "--set", "log.level=debug"};
  const char* envp[] = {"PATH=/bin", "IOC_LOG_LEVEL=warn", nullptr};
  bool help = true;
  Source s = Source::from_args(5, argv, envp, &help);
  EXPECT_FALSE(help);
  EXPECT_EQ(s.get_listen("http.listen", ":1").port, 9999);
  EXPECT_EQ(s.get_string("log.level", "info"), "debug");
  const char* bad[] = {"ioc-intake", "--set", "novalue"};
  EXPECT_THROW(Source::from_args(3, bad, envp), ConfigError);
  const char* unknown[] = {"ioc-intake", "--frobnicate"};
  EXPECT_THROW(Source::from_args(2, unknown, envp), ConfigError);
}

TEST_F(SourceTest, RejectsBadYaml) {
  const std::string f = write("http: [unclosed\n");
  EXPECT_THROW(Source(f, {}, {}), ConfigError);
  EXPECT_THROW(Source(std::string("/nonexistent/ioc.yaml"), {}, {}), ConfigError);
}

}  // namespace
}  // namespace ioc::config
