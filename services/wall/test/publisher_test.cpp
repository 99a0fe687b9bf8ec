#include "publisher.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <prometheus/text_serializer.h>

namespace ioc::wall {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class PublisherTest : public ::testing::Test {
 protected:
  PublisherTest()
      : reg_({{"380", "Thành phố Thanh Hóa", "thanh-hoa-city"}, {"386", "Huyện Bá Thước", "ba-thuoc"}},
             {{"flood", "Ngập lụt", "", "", ""}}),
        shared_(WallOptions{}, reg_),
        hub_("e", SseOptions{}),
        clock_(from_epoch_ms(1'720'000'000'000)),
        metrics_(prom_),
        publisher_("Thanh Hóa IOC", shared_, hub_, clock_, metrics_, [this] { return status_; }) {}

  json::value state() { return json::parse(hub_.snapshot_json(0)).at("sections"); }
  std::string exposition() {
    return prometheus::TextSerializer().Serialize(prom_.Collect());
  }

  Registry reg_;
  SharedState shared_;
  SseHub hub_;
  ManualClock clock_;
  prometheus::Registry prom_;
  Metrics metrics_;
  ServiceStatus status_;
  Publisher publisher_;
};

TEST_F(PublisherTest, WhileRestoringOnlyTheServiceSectionIsPublished) {
  EXPECT_EQ(publisher_.tick(), 1u);
  const json::value s = state();
  EXPECT_EQ(s.as_object().size(), 1u);
  EXPECT_FALSE(s.at("service").at("restored").as_bool());
  EXPECT_EQ(s.at("service").at("title").as_string(), "Thanh Hóa IOC");
  EXPECT_EQ(publisher_.tick(), 0u);  // nothing changed
  EXPECT_FALSE(publisher_.showing_restored());
}

TEST_F(PublisherTest, OnceRestoredEverySectionIsPublishedAndThenOnlyChanges) {
  status_ = {true, true};
  EXPECT_EQ(publisher_.tick(), 6u);  // service + districts, kpis, alerts, reports, freshness
  EXPECT_TRUE(publisher_.showing_restored());
  EXPECT_EQ(state().at("districts").as_array().size(), 2u);
  EXPECT_EQ(publisher_.tick(), 0u);
  AlertEvent a;
  a.fingerprint = "fp";
  a.rule = "r";
  a.state = AlertEvent::State::kFiring;
  a.severity = "critical";
  a.group = {{"district", "386"}};
  a.starts_at = clock_.now();
  {
    std::lock_guard lock(shared_.mu);
    shared_.state.apply(a, clock_.now());
  }
  clock_.advance(250ms);
  EXPECT_EQ(publisher_.tick(), 2u);  // districts and alerts
  EXPECT_EQ(state().at("districts").at(1).at("status").as_string(), "critical");
  const std::string m = exposition();
  EXPECT_NE(m.find("ioc_wall_active_alerts{severity=\"critical\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("ioc_wall_feed_stale{feed=\"reports\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("ioc_wall_sse_events_total 8"), std::string::npos) << m;
  EXPECT_NE(m.find("ioc_wall_state_entries{kind=\"alerts\"} 1"), std::string::npos) << m;
}

TEST_F(PublisherTest, SparklinesGrowOnlyOnceRestored) {
  WindowResult r;
  r.view = "transactions_1h";
  r.group = {{"district", "380"}};
  r.window_start = clock_.now() - 10min;
  r.window_end = r.window_start + 1h;
  r.revision = 1;
  r.values = {{"count", 10}, {"online", 9}};
  {
    std::lock_guard lock(shared_.mu);
    shared_.state.apply(r, clock_.now());
  }
  publisher_.tick();
  status_ = {true, true};
  for (int i = 0; i < 3; ++i) {
    publisher_.tick();
    clock_.advance(10s);
  }
  EXPECT_EQ(state().at("kpis").at("online_rate").at("history").as_array().size(), 3u);
}

}  // namespace
}  // namespace ioc::wall
