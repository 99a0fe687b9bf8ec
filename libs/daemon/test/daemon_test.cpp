#include "ioc/daemon/daemon.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "ioc/core/config_error.hpp"
#include "ioc/http/client.hpp"

namespace ioc::daemon {
namespace {

TEST(DaemonTest, LoadsCommonDefaultsAndRegistry) {
  config::Source src({}, {}, {});
  const CommonConfig c = load_common(src, "ioc-test", ":8080");
  EXPECT_EQ(c.http.port, 8080);
  EXPECT_EQ(c.kafka.bootstrap_servers, "127.0.0.1:9092");
  EXPECT_EQ(c.kafka.client_id, "ioc-test");
  EXPECT_EQ(load_registry(c).districts().size(), 27u);
}

TEST(DaemonTest, TopicPlanWithOverrides) {
  config::Source src({}, {{"topics.default_partitions", "4"}, {"topics.partitions.ioc.reports.v1", "12"},
                          {"topics.partitions.extra.v1", "2"}, {"topics.replication_factor", "3"}},
                     {});
  const CommonConfig c = load_common(src, "ioc-test", ":8080");
  std::map<std::string, int> partitions;
  for (const auto& t : c.topics) {
    partitions[t.name] = t.partitions;
    EXPECT_EQ(t.replication, 3) << t.name;
  }
  EXPECT_EQ(partitions["ioc.reports.v1"], 12);
  EXPECT_EQ(partitions["ioc.transactions.v1"], 4);
  EXPECT_EQ(partitions["ioc.telemetry.v1"], 8);
  EXPECT_EQ(partitions["extra.v1"], 2);
  EXPECT_EQ(c.shutdown_timeout, std::chrono::seconds(30));
  config::Source bad({}, {{"topics.partitions.ioc.reports.v1", "many"}}, {});
  try {
    (void)load_common(bad, "ioc-test", ":8080");
    ADD_FAILURE() << "accepted a bad partition count";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("topics.partitions.ioc.reports.v1"), std::string::npos) << e.what();
  }
}

TEST(DaemonTest, RejectsBadLogLevel) {
  config::Source src({}, {{"log.level", "loud"}}, {});
  EXPECT_THROW(load_common(src, "ioc-test", ":8080"), ConfigError);
}

TEST(DaemonTest, FrontServesEndpointsAndStops) {
  config::Source src({}, {{"http.listen", "127.0.0.1:0"}}, {});
  Front front(load_common(src, "ioc-test", ":0"));
  front.router().add(http::Verb::get, "/x", "x", [](const http::Request&, const http::Params&, const http::Responder& r) {
    r.send(http::make_response(http::Status::ok, "{}"));
  });
  std::atomic<int> ticks{0};
  front.every(std::chrono::milliseconds(5), [&] { ++ticks; });
  front.start([] { return metrics::Readiness{false, "warming up"}; });
  http::Client c("127.0.0.1", front.port());
  EXPECT_EQ(c.get("/x")->result(), http::Status::ok);
  EXPECT_EQ(c.get("/readyz")->result(), http::Status::service_unavailable);
  EXPECT_EQ(c.get("/healthz")->result(), http::Status::ok);
  for (int i = 0; i < 400 && ticks.load() < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_GE(ticks.load(), 3);
  front.request_stop();
  EXPECT_EQ(front.wait_for_signal(), 0);
  front.stop();
}

TEST(DaemonTest, MainMapsConfigErrorsToExitCode2) {
  const char* argv[] = {"ioc-test", "--set", "x=1"};
  char* envp[] = {nullptr};
  const int rc = main(3, const_cast<char**>(argv), envp, "ioc-test", [](config::Source& s) {
    (void)s.get_int("x", 0, 5, 10);
    return 0;
  });
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(main(1, const_cast<char**>(argv), envp, "ioc-test", [](config::Source&) { return 0; }), 0);
  EXPECT_EQ(main(1, const_cast<char**>(argv), envp, "ioc-test",
                 [](config::Source&) -> int { throw std::runtime_error("x"); }),
            1);
}

}  // namespace
}  // namespace ioc::daemon
