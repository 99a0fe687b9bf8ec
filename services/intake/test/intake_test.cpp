// The intake served on port 0 against the in-process mock broker: HTTP in,
// protobuf on the topic out, with a real Kafka consumer reading it back.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <thread>

#include "app.hpp"
#include "ioc/codec/codec.hpp"
#include "ioc/http/client.hpp"
#include "ioc/kafka/consumer.hpp"
#include "ioc/kafka/embedded_broker.hpp"
#include "ioc/metrics/endpoints.hpp"

namespace ioc::intake {
namespace {

using namespace std::chrono_literals;

class IntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<kafka::EmbeddedBroker>(1, std::vector<kafka::TopicSpec>{{kafka::topics::kReports, 3}});
    start(broker_->bootstrap_servers());
  }

  void start(const std::string& bootstrap, bool wait_ready = true) {
    cfg_.common.kafka.bootstrap_servers = bootstrap;
    cfg_.delivery_timeout = 1500ms;
    intake_ = std::make_unique<Intake>(cfg_, registry_, clock_, exposition_.registry());
    http::Router router;
    intake_->add_routes(router);
    http::ServerOptions o;
    o.host = "127.0.0.1";
    o.max_body_bytes = 2048;
    server_ = std::make_unique<http::Server>(io_, o, std::move(router));
    server_->start();
    runner_ = std::thread([this] { io_.run(); });
    for (int i = 0; wait_ready && i < 500 && !intake_->readiness().ready; ++i) std::this_thread::sleep_for(10ms);
  }

  void TearDown() override {
    server_->stop();
    io_.stop();
    runner_.join();
  }

  http::Response post(const std::string& body, std::string_view ct = "application/json") {
    http::Client c("127.0.0.1", server_->port());
    auto r = c.post("/api/v1/reports", body, ct);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : http::Response{};
  }

  Registry registry_{{{"380", "a", "a"}, {"381", "b", "b"}}, {{"flood", "Ngập lụt", "naturalDisaster", "flood"}}};
  ManualClock clock_{from_epoch_ms(1719822600000)};  // 2024-07-01T08:30:00Z
  metrics::Exposition exposition_{"ioc-intake", "test"};
  Config cfg_;
  std::unique_ptr<kafka::EmbeddedBroker> broker_;
  std::unique_ptr<Intake> intake_;
  boost::asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  std::thread runner_;
};

TEST_F(IntakeTest, AcceptedReportsAreOnTheTopicKeyedByDistrict) {
  std::vector<std::string> ids;
  for (const char* d : {"380", "381", "380"}) {
    const http::Response r =
        post(std::string(R"({"category":"flood","district":")") + d + R"(","occurred_at":"2024-07-01T08:29:00Z"})");
    ASSERT_EQ(r.result(), http::Status::accepted) << r.body();
    const auto v = boost::json::parse(r.body());
    EXPECT_EQ(v.at("status").as_string(), "accepted");
    ids.emplace_back(v.at("id").as_string());
  }
  kafka::Consumer consumer({broker_->bootstrap_servers(), "t", {}}, {.group_id = "verify"});
  consumer.subscribe({kafka::topics::kReports});
  std::vector<Report> got;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (got.size() < 3 && std::chrono::steady_clock::now() < deadline) {
    for (auto& m : consumer.poll(10, 100ms)) {
      Report rep;
      ASSERT_TRUE(codec::decode(m.value(), rep).ok());
      EXPECT_EQ(m.key(), rep.district);
      EXPECT_EQ(rep.source, "api");
      EXPECT_EQ(to_epoch_ms(rep.received_at), 1719822600000);
      got.push_back(rep);
    }
  }
  ASSERT_EQ(got.size(), 3u);
  std::vector<std::string> got_ids;
  for (const auto& r : got) got_ids.push_back(r.id);
  std::sort(got_ids.begin(), got_ids.end());
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(got_ids, ids);
  intake_->refresh_gauges();
  const std::string text = exposition_.serialize();
  EXPECT_NE(text.find(R"(ioc_intake_reports_total{outcome="accepted"} 3)"), std::string::npos) << text;
  EXPECT_NE(text.find("ioc_intake_broker_connected 1"), std::string::npos);
}

TEST_F(IntakeTest, BadRequestsGetPreciseErrors) {
  http::Response r = post("{}", "text/plain");
  EXPECT_EQ(r.result(), http::Status::unsupported_media_type);
  r = post("{not json", "application/json; charset=utf-8");
  EXPECT_EQ(r.result(), http::Status::bad_request);
  EXPECT_EQ(boost::json::parse(r.body()).at("error").as_string(), "invalid_json");
  r = post(R"({"category":"flood","district":"999","occurred_at":"2024-07-01T08:29:00Z"})");
  EXPECT_EQ(r.result(), http::Status::unprocessable_entity);
  EXPECT_EQ(boost::json::parse(r.body()).at("errors").at(0).at("field").as_string(), "district");
  r = post(std::string(R"({"category":"flood","district":"380","occurred_at":"2024-07-01T08:29:00Z","description":")") +
           std::string(3000, 'x') + "\"}");
  EXPECT_EQ(r.result(), http::Status::payload_too_large);
  // Still serving.
  EXPECT_EQ(post(R"({"category":"flood","district":"380","occurred_at":"2024-07-01T08:29:00Z"})").result(),
            http::Status::accepted);
}

class IntakeWithoutBrokerTest : public IntakeTest {
 protected:
  void SetUp() override { start("127.0.0.1:1", false); }
};

TEST_F(IntakeWithoutBrokerTest, Answers503WithRetryAfter) {
  EXPECT_FALSE(intake_->readiness().ready);
  const http::Response r = post(R"({"category":"flood","district":"380","occurred_at":"2024-07-01T08:29:00Z"})");
  EXPECT_EQ(r.result(), http::Status::service_unavailable);
  EXPECT_EQ(r[http::beast_http::field::retry_after], "5");
  EXPECT_EQ(boost::json::parse(r.body()).at("error").as_string(), "broker_unavailable");
}

}  // namespace
}  // namespace ioc::intake
