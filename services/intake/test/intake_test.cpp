// The intake served on port 0 against the in-process mock broker: HTTP in,
// protobuf on the topic out, with a real Kafka consumer reading it back.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <future>
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
    broker_ = std::make_unique<kafka::EmbeddedBroker>(1, kafka::project_topics(3, -1));
    start(broker_->bootstrap_servers());
  }

  void start(const std::string& bootstrap, bool wait_ready = true) {
    cfg_.common.kafka.bootstrap_servers = bootstrap;
    cfg_.common.topics = kafka::project_topics(3, -1);
    cfg_.delivery_timeout = 1500ms;
    if (cfg_.spool.dir == "intake-spool") {
      cfg_.spool.dir = (std::filesystem::temp_directory_path() /
                        ("ioc-intake-test-" + std::to_string(::getpid()) + "-" +
                         ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                           .string();
      std::filesystem::remove_all(cfg_.spool.dir);
    }
    intake_ = std::make_unique<Intake>(cfg_, registry_, clock_, exposition_.registry());
    http::Router router;
    intake_->add_routes(router);
    http::ServerOptions o;
    o.host = "127.0.0.1";
    o.max_body_bytes = 2048;
    server_ = std::make_unique<http::Server>(io_, o, std::move(router));
    server_->start();
    runner_ = std::thread([this] { io_.run(); });
    // Connected, and the reports stored before are indexed (retries are recognised).
    auto up = [this] {
      const auto d = intake_->readiness().details;
      return d.at("broker_connected").as_bool() && d.at("report_index_ready").as_bool();
    };
    for (int i = 0; wait_ready && i < 1000 && !up(); ++i) std::this_thread::sleep_for(10ms);
  }

  /// Starts the intake again with what the test changed in cfg_.
  template <typename Change>
  void restart_with(Change change) {
    server_->stop();
    io_.stop();
    runner_.join();
    change(cfg_);
    io_.restart();
    intake_.reset();
    start(broker_->bootstrap_servers());
  }

  void TearDown() override {
    server_->stop();
    io_.stop();
    runner_.join();
    intake_.reset();
    if (!cfg_.spool.dir.empty()) std::filesystem::remove_all(cfg_.spool.dir);
  }

  http::Response send(http::Verb verb, const std::string& target, const std::string& body = "",
                      std::string_view ct = "application/json",
                      const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::Client c("127.0.0.1", server_->port());
    http::Request req{verb, target, 11};
    for (const auto& [k, v] : headers) req.set(k, v);
    if (verb == http::Verb::post) {
      req.set(http::beast_http::field::content_type, ct);
      req.body() = body;
      req.prepare_payload();
    }
    auto r = c.send(std::move(req));
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : http::Response{};
  }

  http::Response post(const std::string& body, std::string_view ct = "application/json",
                      const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return send(http::Verb::post, "/api/v1/reports", body, ct, headers);
  }

  // Report ids on the topic, waiting until `n` arrived.
  std::vector<std::string> topic_ids(std::size_t n, const std::string& bootstrap) {
    kafka::Consumer consumer({bootstrap, "t", {}}, {.group_id = "verify-" + std::to_string(++verifiers_)});
    consumer.subscribe({kafka::topics::kReports});
    std::vector<std::string> got;
    auto read = [&](std::chrono::milliseconds wait) {
      for (auto& m : consumer.poll(10, wait)) {
        Report rep;
        EXPECT_TRUE(codec::decode(m.value(), rep).ok());
        got.push_back(rep.id);
      }
    };
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (got.size() < n && std::chrono::steady_clock::now() < deadline) read(100ms);
    read(500ms);  // anything more would be a duplicate
    std::sort(got.begin(), got.end());
    return got;
  }

  static constexpr const char* kReport = R"({"category":"flood","district":"380","occurred_at":"2024-07-01T08:29:00Z"})";
  int verifiers_ = 0;

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
  got_ids.reserve(got.size());
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

TEST_F(IntakeTest, ARetryWithTheSameIdempotencyKeyGetsTheOriginalResponse) {
  const std::vector<std::pair<std::string, std::string>> key = {{"Idempotency-Key", "phone-42-report-7"}};
  const http::Response first = post(kReport, "application/json", key);
  ASSERT_EQ(first.result(), http::Status::accepted) << first.body();
  const http::Response again = post(kReport, "application/json", key);
  EXPECT_EQ(again.result(), http::Status::accepted);
  EXPECT_EQ(again.body(), first.body());
  EXPECT_EQ(again["Idempotent-Replayed"], "true");
  // The same key for another report is a client bug, said clearly.
  const http::Response other =
      post(R"({"category":"flood","district":"381","occurred_at":"2024-07-01T08:29:00Z"})", "application/json", key);
  EXPECT_EQ(other.result(), http::Status::unprocessable_entity);
  // A client-chosen report id works the same way.
  const std::string own = R"({"id":"0190F3C4-8B5E-7D41-9A2C-3B7E4F1D2A60","category":"flood","district":"380",)"
                          R"("occurred_at":"2024-07-01T08:29:00Z"})";
  const http::Response a = post(own);
  ASSERT_EQ(a.result(), http::Status::accepted) << a.body();
  EXPECT_EQ(boost::json::parse(a.body()).at("id").as_string(), "0190f3c4-8b5e-7d41-9a2c-3b7e4f1d2a60");
  EXPECT_EQ(post(own).body(), a.body());
  const auto ids = topic_ids(2, broker_->bootstrap_servers());
  EXPECT_EQ(ids.size(), 2u);  // one record per report, however often it was sent
}

TEST_F(IntakeTest, StatusLookupShowsDeliveryAndOperatorUpdates) {
  const http::Response r = post(kReport);
  ASSERT_EQ(r.result(), http::Status::accepted);
  const std::string id(boost::json::parse(r.body()).at("id").as_string());
  http::Response got = send(http::Verb::get, "/api/v1/reports/" + id);
  ASSERT_EQ(got.result(), http::Status::ok) << got.body();
  EXPECT_EQ(boost::json::parse(got.body()).at("status").as_string(), "delivered");

  kafka::Producer producer({broker_->bootstrap_servers(), "t", {}}, {});
  ReportStatus u{id, "in_progress", "team dispatched", "op-7", from_epoch_ms(1719822700000), "Flood response team"};
  ASSERT_TRUE(producer.produce(kafka::topics::kReportStatus, id, codec::encode(u)).ok());
  ASSERT_TRUE(producer.produce(kafka::topics::kReportStatus, id, "not a status update").ok());
  ASSERT_TRUE(producer.flush(5s).ok());
  for (int i = 0; i < 200; ++i) {
    got = send(http::Verb::get, "/api/v1/reports/" + id);
    if (boost::json::parse(got.body()).at("status").as_string() == "in_progress") break;
    std::this_thread::sleep_for(50ms);
  }
  const auto v = boost::json::parse(got.body());
  EXPECT_EQ(v.at("status").as_string(), "in_progress");
  EXPECT_EQ(v.at("delivery").as_string(), "delivered");
  EXPECT_EQ(v.at("updates").at(0).at("note").as_string(), "team dispatched");
  // Open311 sees the same request.
  got = send(http::Verb::get, "/open311/v2/requests/" + id + ".json");
  ASSERT_EQ(got.result(), http::Status::ok) << got.body();
  EXPECT_EQ(boost::json::parse(got.body()).at(0).at("agency_responsible").as_string(), "Flood response team");
  EXPECT_EQ(send(http::Verb::get, "/api/v1/reports/nope").result(), http::Status::not_found);
  intake_->refresh_gauges();
  EXPECT_NE(exposition_.serialize().find(R"(ioc_intake_status_updates_total{outcome="invalid"} 1)"),
            std::string::npos);
}

TEST_F(IntakeTest, ApiKeysAreCheckedWithScopes) {
  const std::string file = cfg_.spool.dir + "-keys.yaml";
  restart_with([&](Config& c) {
    std::ofstream(file) << "keys:\n  - name: app\n    sha256: " << sha256_hex("s3cret-submit")
                        << "\n    scopes: [submit]\n";
    c.keys_file = file;
  });
  EXPECT_EQ(post(kReport).result(), http::Status::unauthorized);
  EXPECT_EQ(post(kReport, "application/json", {{"X-API-Key", "wrong"}}).result(), http::Status::unauthorized);
  const http::Response ok = post(kReport, "application/json", {{"X-API-Key", "s3cret-submit"}});
  ASSERT_EQ(ok.result(), http::Status::accepted) << ok.body();
  const std::string id(boost::json::parse(ok.body()).at("id").as_string());
  const http::Response no_read =
      send(http::Verb::get, "/api/v1/reports/" + id, "", "", {{"X-API-Key", "s3cret-submit"}});
  EXPECT_EQ(no_read.result(), http::Status::forbidden);
  EXPECT_NE(no_read.body().find("lacks the scope 'read'"), std::string::npos) << no_read.body();
  // Open311 takes the key as api_key, and answers in its own error format.
  http::Response o = send(http::Verb::post, "/open311/v2/requests.json",
                          "service_code=flood&attribute%5Bdistrict%5D=380&lat=19.8&long=105.7&api_key=bad",
                          "application/x-www-form-urlencoded");
  EXPECT_EQ(o.result(), http::Status::forbidden);  // GeoReport v2: "403 - Invalid api_key"
  EXPECT_EQ(boost::json::parse(o.body()).at(0).at("code").as_int64(), 403);
  // A reloaded file takes effect without a restart.
  std::ofstream(file) << "keys:\n  - name: app\n    sha256: " << sha256_hex("s3cret-submit")
                      << "\n    scopes: [submit, read]\n";
  intake_->reload_keys();
  EXPECT_EQ(send(http::Verb::get, "/api/v1/reports/" + id, "", "", {{"X-API-Key", "s3cret-submit"}}).result(),
            http::Status::ok);
  std::filesystem::remove(file);
}

TEST_F(IntakeTest, Open311LookupsArePublicOnlyWhenConfigured) {
  const std::string file = cfg_.spool.dir + "-keys.yaml";
  std::ofstream(file) << "keys:\n  - name: app\n    sha256: " << sha256_hex("s3cret") << "\n    scopes: [submit, read]\n";
  restart_with([&](Config& c) { c.keys_file = file; });
  const http::Response ok = post(kReport, "application/json", {{"X-API-Key", "s3cret"}});
  ASSERT_EQ(ok.result(), http::Status::accepted) << ok.body();
  const std::string id(boost::json::parse(ok.body()).at("id").as_string());
  EXPECT_EQ(send(http::Verb::get, "/open311/v2/requests.json").result(), http::Status::unauthorized);
  restart_with([](Config& c) { c.open311_public_read = true; });
  EXPECT_EQ(send(http::Verb::get, "/open311/v2/requests.json").result(), http::Status::ok);
  EXPECT_EQ(send(http::Verb::get, "/open311/v2/requests/" + id + ".json").result(), http::Status::ok);
  EXPECT_EQ(send(http::Verb::get, "/open311/v2/requests.json?api_key=wrong").result(), http::Status::forbidden);
  EXPECT_EQ(send(http::Verb::get, "/api/v1/reports/" + id).result(), http::Status::unauthorized);  // native: never
  std::filesystem::remove(file);
}

TEST_F(IntakeTest, PerAddressRateLimitAnswers429WithRetryAfter) {
  restart_with([](Config& c) { c.per_ip = {1, 3}; });
  for (int i = 0; i < 3; ++i) EXPECT_EQ(post(kReport).result(), http::Status::accepted);
  const http::Response r = post(kReport);
  EXPECT_EQ(r.result(), http::Status::too_many_requests);
  EXPECT_EQ(r[http::beast_http::field::retry_after], "1");
  EXPECT_FALSE(r["X-Request-Id"].empty());
}

// Regression: with intake.rate_limit.per_ip 0, wrong keys were never
// throttled; and an Open311 body that could not be read was answered 400
// before authentication, to anyone.
TEST_F(IntakeTest, GuessedKeysAreThrottledAndUnreadableBodiesAnsweredOnlyAfterAdmission) {
  restart_with([&](Config& c) {
    const std::string file = c.spool.dir + "-keys.yaml";
    std::ofstream(file) << "keys:\n  - name: app\n    sha256: " << sha256_hex("s3cret-submit")
                        << "\n    scopes: [submit]\n";
    c.keys_file = file;
    c.per_ip = {0, 1};
  });
  const http::Response garbage = send(http::Verb::post, "/open311/v2/requests.json", "{not json", "application/json");
  EXPECT_EQ(garbage.result(), http::Status::unauthorized) << garbage.body();
  int unauthorized = 0;
  int limited = 0;
  for (int i = 0; i < 25; ++i) {
    const auto s = post(kReport, "application/json", {{"X-API-Key", "guess-" + std::to_string(i)}}).result();
    (s == http::Status::unauthorized ? unauthorized : s == http::Status::too_many_requests ? limited : i) += 1;
  }
  EXPECT_EQ(unauthorized, 20);
  EXPECT_EQ(limited, 5);
  // The right key still works from that address.
  EXPECT_EQ(post(kReport, "application/json", {{"X-API-Key", "s3cret-submit"}}).result(), http::Status::accepted);
}

TEST_F(IntakeTest, AReportSlowerThanTheDeadlineIsQueuedAndStoredOnce) {
  // The broker stores the record but answers late, as while a leader fails
  // over: the report is spooled and answered "queued", and when the
  // acknowledgement comes its spooled copy is not sent again.
  broker_->set_rtt(1, 4000ms);
  auto answer = std::async(std::launch::async, [this] { return post(kReport); });
  // The answer deadline (1.5 s) is on the intake's clock.
  std::this_thread::sleep_for(200ms);
  clock_.advance(2s);
  const http::Response r = answer.get();
  ASSERT_EQ(r.result(), http::Status::accepted) << r.body();
  EXPECT_EQ(boost::json::parse(r.body()).at("status").as_string(), "queued");
  const std::string id(boost::json::parse(r.body()).at("id").as_string());
  broker_->set_rtt(1, 0ms);
  auto depth = [this] { return intake_->readiness().details.at("spool_depth").to_number<int>(); };
  for (int i = 0; i < 400 && depth() > 0; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(depth(), 0);
  std::this_thread::sleep_for(1500ms);  // a replay, if any, would be on its way now
  EXPECT_EQ(topic_ids(1, broker_->bootstrap_servers()), std::vector<std::string>{id});
  EXPECT_EQ(boost::json::parse(send(http::Verb::get, "/api/v1/reports/" + id).body()).at("status").as_string(),
            "delivered");
}

class IntakeWithoutBrokerTest : public IntakeTest {
 protected:
  void SetUp() override {
    port_ = 19000 + static_cast<std::uint16_t>(::getpid() % 2000);
    start("127.0.0.1:" + std::to_string(port_), false);
  }
  std::uint16_t port_ = 0;
};

TEST_F(IntakeWithoutBrokerTest, ReportsAreSpooledThenReplayedInOrderWhenTheBrokerComes) {
  EXPECT_TRUE(intake_->readiness().ready);  // the spool can take reports
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const http::Response r = post(kReport);
    ASSERT_EQ(r.result(), http::Status::accepted) << r.body();
    const auto v = boost::json::parse(r.body());
    EXPECT_EQ(v.at("status").as_string(), "queued");
    ids.emplace_back(v.at("id").as_string());
  }
  EXPECT_EQ(intake_->readiness().details.at("spool_depth").to_number<int>(), 5);
  EXPECT_EQ(boost::json::parse(send(http::Verb::get, "/api/v1/reports/" + ids[0]).body()).at("status").as_string(),
            "queued");
  kafka::EmbeddedBroker broker(1, kafka::project_topics(3, -1), {"127.0.0.1", port_});
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(topic_ids(5, broker.bootstrap_servers()), ids);
  for (int i = 0; i < 200 && intake_->readiness().details.at("spool_depth").to_number<int>() > 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(intake_->readiness().details.at("spool_depth").to_number<int>(), 0);
  EXPECT_EQ(boost::json::parse(send(http::Verb::get, "/api/v1/reports/" + ids[0]).body()).at("status").as_string(),
            "delivered");
}

class IntakeWithoutSpoolTest : public IntakeTest {
 protected:
  void SetUp() override {
    cfg_.spool.dir.clear();
    start("127.0.0.1:1", false);
  }
};

TEST_F(IntakeWithoutSpoolTest, Answers503WithRetryAfter) {
  EXPECT_FALSE(intake_->readiness().ready);
  const http::Response r = post(kReport);
  EXPECT_EQ(r.result(), http::Status::service_unavailable);
  EXPECT_EQ(r[http::beast_http::field::retry_after], "5");
  EXPECT_EQ(boost::json::parse(r.body()).at("error").as_string(), "broker_unavailable");
}

}  // namespace
}  // namespace ioc::intake
