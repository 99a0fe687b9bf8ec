#include "ioc/metrics/endpoints.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <thread>

#include "ioc/http/client.hpp"

namespace ioc::metrics {
namespace {

class EndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    exposition_ = std::make_shared<Exposition>("ioc-test", "1.2.3");
    http_metrics_ = std::make_unique<HttpMetrics>(exposition_->registry());
    http::Router router;
    add_endpoints(router, exposition_, [this] {
      return ready_.load() ? Readiness{} : Readiness{false, "kafka brokers unreachable"};
    });
    http::ServerOptions o;
    o.host = "127.0.0.1";
    server_ = std::make_unique<http::Server>(io_, o, std::move(router));
    server_->set_observer([this](const http::Completed& c) { http_metrics_->observe(c); });
    server_->start();
    runner_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    server_->stop();
    io_.stop();
    runner_.join();
  }

  boost::asio::io_context io_;
  std::shared_ptr<Exposition> exposition_;
  std::unique_ptr<HttpMetrics> http_metrics_;
  std::unique_ptr<http::Server> server_;
  std::thread runner_;
  std::atomic<bool> ready_{true};
};

TEST_F(EndpointsTest, ReadinessFollowsTheCheck) {
  http::Client c("127.0.0.1", server_->port());
  EXPECT_EQ(c.get("/healthz")->result(), http::Status::ok);
  EXPECT_EQ(c.get("/readyz")->result(), http::Status::ok);
  ready_ = false;
  auto r = c.get("/readyz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result(), http::Status::service_unavailable);
  EXPECT_EQ(boost::json::parse(r->body()).at("reason").as_string(), "kafka brokers unreachable");
}

TEST_F(EndpointsTest, MetricsCountRequestsAndProcess) {
  http::Client c("127.0.0.1", server_->port());
  ASSERT_TRUE(c.get("/healthz").ok());
  ASSERT_TRUE(c.get("/healthz").ok());
  ASSERT_TRUE(c.get("/nowhere").ok());
  // The observer runs after the response is written: poll until both show.
  std::string body;
  for (int i = 0; i < 100; ++i) {
    auto m = c.get("/metrics");
    ASSERT_TRUE(m.ok());
    EXPECT_EQ((*m)[http::beast_http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
    body = m->body();
    if (body.find(R"(ioc_http_requests_total{code="404",method="GET",route="unmatched"} 1)") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_NE(body.find(R"(ioc_http_requests_total{code="200",method="GET",route="healthz"} 2)"), std::string::npos)
      << body;
  EXPECT_NE(body.find(R"(ioc_http_requests_total{code="404",method="GET",route="unmatched"} 1)"), std::string::npos);
  EXPECT_NE(body.find(R"(ioc_http_request_duration_seconds_count{method="GET",route="healthz"} 2)"),
            std::string::npos);
  EXPECT_NE(body.find("# TYPE process_resident_memory_bytes gauge"), std::string::npos);
  EXPECT_NE(body.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
  EXPECT_NE(body.find(R"(ioc_build_info{service="ioc-test",version="1.2.3"} 1)"), std::string::npos);
}

}  // namespace
}  // namespace ioc::metrics
