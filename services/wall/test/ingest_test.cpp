#include "ingest.hpp"

#include <gtest/gtest.h>

#include "ioc/codec/codec.hpp"

namespace ioc::wall {
namespace {

Registry registry() {
  return Registry({{"380", "Thành phố Thanh Hóa", "thanh-hoa-city"}}, {{"flood", "Ngập lụt", "", "", ""}});
}

TEST(IngestTest, DecodesEachTopicsRecordsAndAppliesThem) {
  const Registry reg = registry();
  WallState s(WallOptions{}, reg);
  const TimePoint t = from_epoch_ms(1'720'000'000'000);
  std::string error;

  WindowResult r;
  r.view = "reports_15m";
  r.group = {{"district", "380"}, {"category", "flood"}};
  r.window_start = t - std::chrono::minutes(10);
  r.window_end = t + std::chrono::minutes(5);
  r.revision = 1;
  r.count = 7;
  r.values = {{"count", 7}};
  EXPECT_EQ(ingest(s, Topic::kAggregates, codec::encode(r), t, &error), Outcome::kApplied);
  EXPECT_EQ(ingest(s, Topic::kAggregates, codec::encode(r), t, &error), Outcome::kStale);
  EXPECT_EQ(s.render(t).kpis.at("reports").at("total").as_int64(), 7);

  AlertEvent a;
  a.fingerprint = "fp";
  a.rule = "flood_surge";
  a.state = AlertEvent::State::kFiring;
  a.severity = "critical";
  a.group = {{"district", "380"}};
  a.starts_at = t;
  EXPECT_EQ(ingest(s, Topic::kAlerts, codec::encode(a), t, &error), Outcome::kApplied);
  EXPECT_EQ(s.render(t).districts.at(0).at("status").as_string(), "critical");

  Report rep;
  rep.id = "019a";
  rep.category = "flood";
  rep.district = "380";
  rep.occurred_at = t;
  rep.received_at = t;
  EXPECT_EQ(ingest(s, Topic::kReports, codec::encode(rep), t, &error), Outcome::kApplied);
  EXPECT_EQ(s.render(t).reports.at(0).at("id").as_string(), "019a");
}

TEST(IngestTest, UndecodableBytesAreMalformedWithTheReason) {
  const Registry reg = registry();
  WallState s(WallOptions{}, reg);
  const TimePoint t = from_epoch_ms(1'720'000'000'000);
  for (Topic topic : {Topic::kAggregates, Topic::kAlerts, Topic::kReports}) {
    std::string error;
    EXPECT_EQ(ingest(s, topic, std::string("\xff\xff\xff\x01not protobuf", 16), t, &error), Outcome::kMalformed)
        << to_string(topic);
    EXPECT_FALSE(error.empty()) << to_string(topic);
  }
  // A valid message of another schema lacks the required fields.
  Report rep;
  rep.id = "x";
  rep.district = "380";
  rep.category = "flood";
  rep.occurred_at = t;
  std::string error;
  EXPECT_EQ(ingest(s, Topic::kAlerts, codec::encode(rep), t, &error), Outcome::kMalformed);
  EXPECT_NE(error.find("AlertEvent"), std::string::npos) << error;
}

}  // namespace
}  // namespace ioc::wall
