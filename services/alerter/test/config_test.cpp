#include "config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "app.hpp"
#include "ioc/core/config_error.hpp"

namespace ioc::alerter {
namespace {

config::Source flags(std::map<std::string, std::string> f) { return config::Source(std::nullopt, std::move(f), {}); }

TEST(ConfigTest, DefaultsPointAtTheShippedFiles) {
  auto src = flags({});
  const Config c = load_config(src);
  ASSERT_EQ(c.rule_files.size(), 1u);
  EXPECT_EQ(c.rule_files[0], std::string(IOC_DEFAULT_CONFIG_DIR) + "/rules.yaml");
  EXPECT_EQ(c.views_file, std::string(IOC_DEFAULT_CONFIG_DIR) + "/views.yaml");
  EXPECT_EQ(c.common.http.port, 9102);
  EXPECT_TRUE(c.alertmanager.targets.empty());
  EXPECT_EQ(c.province.name, "Thanh Hóa");
  ASSERT_TRUE(c.province.lat_min);
}

TEST(ConfigTest, AlertmanagerUrlAndRuleOverlays) {
  auto src = flags({{"alerter.alertmanager.url", "http://am.local:9093/alertmanager/"},
                    {"alerter.rules", "rules.yaml, /etc/ioc/extra.yaml"}});
  const Config c = load_config(src);
  ASSERT_EQ(c.alertmanager.targets.size(), 1u);
  EXPECT_EQ(c.alertmanager.targets[0].host, "am.local");
  EXPECT_EQ(c.alertmanager.targets[0].port, 9093);
  EXPECT_EQ(c.alertmanager.targets[0].base_path, "/alertmanager");
  ASSERT_EQ(c.rule_files.size(), 2u);
  EXPECT_EQ(c.rule_files[1], "/etc/ioc/extra.yaml");
}

TEST(ConfigTest, AlertmanagerUrlTakesEveryInstanceOfACluster) {
  auto src = flags({{"alerter.alertmanager.url", "http://am-0:9093, http://am-1:9093/am"}});
  const Config c = load_config(src);
  ASSERT_EQ(c.alertmanager.targets.size(), 2u);
  EXPECT_EQ(c.alertmanager.targets[0].url, "http://am-0:9093");
  EXPECT_EQ(c.alertmanager.targets[0].host, "am-0");
  EXPECT_EQ(c.alertmanager.targets[0].base_path, "");
  EXPECT_EQ(c.alertmanager.targets[1].host, "am-1");
  EXPECT_EQ(c.alertmanager.targets[1].port, 9093);
  EXPECT_EQ(c.alertmanager.targets[1].base_path, "/am");
  EXPECT_EQ(alertmanager_urls(c.alertmanager), "http://am-0:9093,http://am-1:9093/am");

  const std::string file = ::testing::TempDir() + "/am-list.yaml";
  const std::string dir = IOC_DEFAULT_CONFIG_DIR;
  std::ofstream(file) << "registry: {districts: " << dir << "/districts.yaml, categories: " << dir
                      << "/categories.yaml}\nalerter:\n  alertmanager:\n    url: [http://a:9093, http://b:9094]\n";
  config::Source from_yaml(file, {}, {});
  const Config y = load_config(from_yaml);
  ASSERT_EQ(y.alertmanager.targets.size(), 2u);
  EXPECT_EQ(y.alertmanager.targets[1].port, 9094);

  auto twice = flags({{"alerter.alertmanager.url", "http://a:9093,http://a:9093"}});
  try {
    load_config(twice);
    FAIL() << "the same instance twice would get every alert twice";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "alerter.alertmanager.url");
  }
  auto one_bad = flags({{"alerter.alertmanager.url", "http://a:9093,b:9093"}});
  EXPECT_THROW(load_config(one_bad), ConfigError);
  auto none = flags({{"alerter.alertmanager.url", ""}});
  EXPECT_TRUE(load_config(none).alertmanager.targets.empty());
}

TEST(ConfigTest, BadValuesNameTheKey) {
  auto bad_url = flags({{"alerter.alertmanager.url", "am.local:9093"}});
  try {
    load_config(bad_url);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "alerter.alertmanager.url");
  }
  auto bad_sender = flags({{"alerter.cap.sender", "ioc center"}});
  EXPECT_THROW(load_config(bad_sender), ConfigError);
}

std::string write(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(CheckCommandTest, ShippedRulesPass) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(check_command({"--check", std::string(IOC_DEFAULT_CONFIG_DIR) + "/rules.yaml",
                           std::string(IOC_DEFAULT_CONFIG_DIR) + "/rules-demo.yaml"},
                          out, err),
            0)
      << err.str();
  EXPECT_NE(out.str().find("rules OK against"), std::string::npos);
  EXPECT_TRUE(err.str().empty());
}

TEST(CheckCommandTest, BrokenRulesListEveryProblemAndExit2) {
  const std::string file = write("broken-rules.yaml", R"(rules:
  - name: FloodReportSurge
    view: reports_15m
    value: total
    fire: "=> 20"
    category_from: category
    annotations: {summary: "{{value}} in {{district_name}}"}
    scenario: x
)");
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(check_command({"--check", file}, out, err), 2);
  EXPECT_NE(err.str().find(file + ":4:12: rules[0] (FloodReportSurge).value: view 'reports_15m' has no value 'total'"),
            std::string::npos)
      << err.str();
  EXPECT_NE(err.str().find(file + ":5:11: rules[0] (FloodReportSurge).fire: must be a comparison"), std::string::npos);
  EXPECT_NE(err.str().find("2 problem(s) found"), std::string::npos);
  EXPECT_TRUE(out.str().empty());
}

// Regression: --check read the views file compiled into the binary (a
// build directory's path), not the one beside the rules being checked.
TEST(CheckCommandTest, ReadsTheViewsBesideTheRules) {
  const std::string dir = ::testing::TempDir() + "/check-beside";
  std::filesystem::create_directories(dir);
  write("check-beside/views.yaml", R"(views:
  quakes_1m:
    source: telemetry
    group_by: [district]
    window: {tumbling: 1m}
    aggregations: [count]
)");
  const std::string rules = write("check-beside/rules.yaml", R"(rules:
  - name: Quakes
    view: quakes_1m
    value: count
    fire: ">= 3"
    category: other
    annotations: {summary: "{{value}}"}
    scenario: x
)");
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(check_command({"--check", rules}, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("rules OK against " + dir + "/views.yaml"), std::string::npos) << out.str();
}

TEST(CheckCommandTest, UsageErrors) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(check_command({"--check"}, out, err), 2);
  EXPECT_NE(err.str().find("usage"), std::string::npos);
  EXPECT_EQ(check_command({"--check", "x.yaml", "--frobnicate"}, out, err), 2);
}

}  // namespace
}  // namespace ioc::alerter
