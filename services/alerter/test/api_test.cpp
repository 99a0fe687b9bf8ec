#include "api.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <thread>

#include "events.hpp"
#include "ioc/core/time_format.hpp"
#include "ioc/http/client.hpp"
#include "province.hpp"

namespace ioc::alerter {
namespace {

namespace json = boost::json;
using S = AlertEvent::State;

std::string str(const json::value& v) { return std::string(v.as_string()); }

AlertEvent station(const std::string& district, const std::string& id, S state = S::kFiring) {
  AlertEvent e = test::event("silent-" + id, state, 1, 1);
  e.rule = "BtsStationSilent";
  e.severity = "warning";
  e.group = {{"district", district}, {"source_id", id}};
  e.labels = {{"alertname", e.rule}, {"severity", "warning"}, {"district", district}, {"source_id", id}};
  return e;
}

AlertEvent stations_down(const std::string& district) {
  AlertEvent e = test::event("down-" + district, S::kFiring, 1, 1);
  e.rule = "BtsStationsDown";
  e.group = {{"district", district}};
  e.labels = {{"alertname", e.rule}, {"severity", "critical"}, {"district", district}};
  return e;
}

// The API on a real server (port 0), over a view the test publishes.
class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http::Router router;
    add_routes(router, box_, CapContext{cap_, registry_, province_, url_});
    server_ = std::make_unique<http::Server>(io_, http::ServerOptions{.host = "127.0.0.1"}, std::move(router));
    server_->start();
    runner_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    server_->stop();
    io_.stop();
    runner_.join();
  }
  void publish(std::vector<AlertEvent> active) {
    auto v = std::make_shared<AlertView>();
    for (const AlertEvent& e : active) v->episodes[e.id] = {e, e};
    v->active = std::move(active);
    v->inhibitions = {{"BtsStationsDown", {"BtsStationSilent"}, {"district"}}};
    box_.publish(std::move(v));
  }
  json::object get(const std::string& target, http::Status want = http::Status::ok) {
    http::Client c("127.0.0.1", server_->port());
    auto res = c.get(target);
    EXPECT_TRUE(res.ok());
    if (!res.ok()) return {};
    EXPECT_EQ(res->result(), want) << res->body();
    return json::parse(res->body()).as_object();
  }

  AlertViewBox box_;
  CapConfig cap_;
  Registry registry_ = test::one_district();
  Province province_;
  std::string url_ = "http://alerter:9102";
  boost::asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  std::thread runner_;
};

TEST_F(ApiTest, OneCardPerIncidentWithItsFoldedAlertsReachable) {
  std::vector<AlertEvent> active;
  for (int i = 0; i < 48; ++i) active.push_back(station("384", "bts-384-" + std::to_string(i)));
  active.push_back(station("384", "bts-384-pending", S::kPending));
  active.push_back(stations_down("384"));
  active.push_back(station("385", "bts-385-1"));
  publish(active);
  const AlertEvent& down = active[49];

  json::object body = get("/api/v1/alerts");
  EXPECT_EQ(body.at("count").to_number<std::int64_t>(), 2);
  EXPECT_TRUE(body.at("folded").as_bool());
  const json::array& cards = body.at("alerts").as_array();
  ASSERT_EQ(cards.size(), 2u);
  const bool down_first = str(cards[0].as_object().at("rule")) == "BtsStationsDown";
  const json::object& card = cards[down_first ? 0 : 1].as_object();
  EXPECT_EQ(str(card.at("id")), down.id);
  EXPECT_EQ(card.at("folded_count").to_number<std::int64_t>(), 49);
  const json::object& first = card.at("folded").as_array()[0].as_object();
  EXPECT_EQ(str(first.at("rule")), "BtsStationSilent");
  EXPECT_EQ(str(first.at("inhibited_by")), down.id);
  EXPECT_EQ(str(first.at("folded_into")), down.id);
  EXPECT_EQ(str(first.at("href")), "/api/v1/alerts/" + str(first.at("id")));
  const json::object& other = cards[down_first ? 1 : 0].as_object();
  EXPECT_EQ(str(other.at("group").as_object().at("district")), "385") << "another district's station is its own card";
  EXPECT_EQ(other.at("folded_count").to_number<std::int64_t>(), 0);

  // Filters select cards.
  EXPECT_EQ(get("/api/v1/alerts?severity=critical").at("count").to_number<std::int64_t>(), 1);
  EXPECT_EQ(get("/api/v1/alerts?rule=BtsStationSilent").at("count").to_number<std::int64_t>(), 1);

  // The flat list: every alert, the folded ones saying by what.
  body = get("/api/v1/alerts?fold=false");
  EXPECT_EQ(body.at("count").to_number<std::int64_t>(), 51);
  EXPECT_FALSE(body.at("folded").as_bool());
  std::size_t inhibited = 0;
  for (const json::value& a : body.at("alerts").as_array()) {
    if (a.as_object().contains("inhibited_by")) ++inhibited;
    EXPECT_FALSE(a.as_object().contains("folded"));
  }
  EXPECT_EQ(inhibited, 49u);
  EXPECT_EQ(get("/api/v1/alerts?fold=false&state=pending").at("count").to_number<std::int64_t>(), 1);
  // And one folded alert on its own page.
  EXPECT_EQ(str(get("/api/v1/alerts/" + active[0].id).at("inhibited_by")), down.id);
  EXPECT_FALSE(get("/api/v1/alerts/" + down.id).contains("inhibited_by"));
  get("/api/v1/alerts?fold=maybe", http::Status::bad_request);
}

TEST_F(ApiTest, WithoutItsSourceFiringEveryAlertIsACard) {
  publish({station("384", "a"), station("384", "b")});
  EXPECT_EQ(get("/api/v1/alerts").at("count").to_number<std::int64_t>(), 2);
}

std::string bound(std::string_view text, bool end_of_day = false) {
  auto t = parse_time_bound(text, end_of_day);
  return t.ok() ? format_rfc3339(*t) : "error: " + t.error().message;
}

TEST(EpisodeApiTest, EpisodeBoundsAreDaysOrRfc3339Times) {
  EXPECT_EQ(bound("2024-07-01"), "2024-07-01T00:00:00.000Z");
  EXPECT_EQ(bound("2024-07-01", true), "2024-07-02T00:00:00.000Z");  // `to` takes the whole day
  EXPECT_EQ(bound("2024-07-01T08:00:00+07:00"), "2024-07-01T01:00:00.000Z");
  EXPECT_EQ(bound("2024-02-30"), "error: '2024-02-30' is not a date YYYY-MM-DD: no such calendar date");
  EXPECT_EQ(bound("yesterday").rfind("error: 'yesterday' is neither YYYY-MM-DD nor RFC 3339", 0), 0u);
  EXPECT_EQ(bound("2024-07-01T08:00:00").rfind("error: ", 0), 0u);  // no offset: ambiguous
}

TEST(EpisodeApiTest, AnEpisodeListsItsCapMessages) {
  EpisodeRecord r;
  r.id = "fp-1";
  r.rule = "WaterLevelHigh";
  r.started = from_epoch_ms(1'719'822'600'000);
  r.ended = r.started + std::chrono::minutes(90);
  r.cap_messages = {1, 2};
  const auto o = episode_json(r);
  EXPECT_EQ(o.at("duration_seconds").as_int64(), 5400);
  EXPECT_EQ(o.at("ended").as_string(), "2024-07-01T10:00:00.000Z");
  EXPECT_EQ(o.at("cap_messages").as_array().at(1).as_string(), "/api/v1/alerts/fp-1/cap/2");
}

}  // namespace
}  // namespace ioc::alerter
