#include "wall_state.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "ioc/core/config_error.hpp"

namespace ioc::wall {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

Registry test_registry() {
  return Registry({{"380", "Thành phố Thanh Hóa", "thanh-hoa-city"},
                   {"384", "Huyện Mường Lát", "muong-lat"},
                   {"386", "Huyện Bá Thước", "ba-thuoc"}},
                  {{"flood", "Ngập lụt", "naturalDisaster", "flood", ""},
                   {"fire", "Cháy nổ", "security", "buildingFire", ""},
                   {"other", "Khác", "", "", ""}});
}

const TimePoint kT0 = from_epoch_ms(1'720'000'000'000 / 3'600'000 * 3'600'000);  // on the hour

WindowResult result(std::string view, std::vector<Label> group, TimePoint start, Millis size, std::uint32_t revision,
                    std::vector<WindowResult::Value> values, std::int64_t count = 0) {
  WindowResult r;
  r.view = std::move(view);
  r.group = std::move(group);
  r.window_start = start;
  r.window_end = start + size;
  r.revision = revision;
  r.count = count;
  r.values = std::move(values);
  r.watermark = start;
  return r;
}

WindowResult reports(std::string district, std::string category, TimePoint start, std::uint32_t revision, double n) {
  return result("reports_15m", {{"district", district}, {"category", category}}, start, 15min, revision,
                {{"count", n}}, static_cast<std::int64_t>(n));
}

WindowResult transactions(std::string district, TimePoint start, double count, double online, double completed,
                          double overdue, std::uint32_t revision = 1) {
  return result("transactions_1h", {{"district", district}}, start, 1h, revision,
                {{"count", count}, {"online", online}, {"completed", completed}, {"overdue", overdue},
                 {"online_ratio", count > 0 ? online / count : 0}},
                static_cast<std::int64_t>(count));
}

WindowResult station(std::string district, std::string id, TimePoint start, TimePoint last_seen,
                     std::string kind = "bts_heartbeat") {
  return result("station_5m", {{"district", district}, {"source_id", id}, {"kind", kind}}, start, 5min, 1,
                {{"count", 3}, {"last", 1}, {"last_seen", static_cast<double>(to_epoch_ms(last_seen)) / 1000.0}}, 3);
}

AlertEvent alert(std::string fp, AlertEvent::State state, std::string severity, std::string district,
                 TimePoint starts_at, std::uint32_t revision) {
  AlertEvent a;
  a.fingerprint = std::move(fp);
  a.id = a.fingerprint + "-" + std::to_string(to_epoch_ms(starts_at));
  a.rule = "flood_reports_surge";
  a.state = state;
  a.severity = std::move(severity);
  a.view = "reports_15m";
  a.group = {{"district", district}, {"category", "flood"}};
  a.value = 25;
  a.threshold = 20;
  a.comparator = ">=";
  a.summary = "25 flood reports in 15 min";
  a.scenario = "Call the district's steering committee.";
  a.starts_at = starts_at;
  a.revision = revision;
  return a;
}

Report report(std::string id, std::string district, std::string category, TimePoint received, std::string text = "") {
  Report r;
  r.id = std::move(id);
  r.district = std::move(district);
  r.category = std::move(category);
  r.description = std::move(text);
  r.occurred_at = received - 1min;
  r.received_at = received;
  return r;
}

class WallStateTest : public ::testing::Test {
 protected:
  WallStateTest() : registry_(test_registry()), state_(options(), registry_) {}
  static WallOptions options() {
    WallOptions o;
    o.latest_reports = 3;
    return o;
  }
  json::object kpis(TimePoint now) const { return state_.render(now).kpis.as_object(); }
  json::array districts(TimePoint now) const { return state_.render(now).districts.as_array(); }
  json::object alerts(TimePoint now) const { return state_.render(now).alerts.as_object(); }
  std::string status(TimePoint now, std::string_view code) const {
    for (const auto& d : districts(now)) {
      if (d.at("code").as_string() == code) return std::string(d.at("status").as_string());
    }
    return "absent";
  }

  Registry registry_;
  WallState state_;
};

TEST_F(WallStateTest, HigherRevisionReplacesLowerAndAReplayChangesNothing) {
  const TimePoint now = kT0 + 30s;
  const TimePoint start = kT0 - 14min;
  EXPECT_EQ(state_.apply(reports("380", "flood", start, 1, 4), now), Outcome::kApplied);
  EXPECT_EQ(state_.apply(reports("380", "flood", start, 3, 9), now), Outcome::kApplied);
  EXPECT_EQ(state_.apply(reports("380", "flood", start, 2, 6), now), Outcome::kStale);  // late, lower revision
  EXPECT_EQ(state_.apply(reports("380", "flood", start, 3, 9), now), Outcome::kStale);  // replay
  EXPECT_EQ(kpis(now).at("reports").at("total").as_int64(), 9);
}

// Hopping windows of 15 min every minute: at 10:00:30 the windows
// [9:46,10:01) ... [10:00,10:15) all contain now; the one that started
// first holds the last 15 minutes.
TEST_F(WallStateTest, ReportsKpiReadsTheEarliestWindowThatContainsNow) {
  const TimePoint now = kT0 + 30s;
  for (int k = 0; k < 15; ++k) {
    const TimePoint start = kT0 - 14min + Millis(k * 60'000);
    state_.apply(reports("380", "flood", start, 1, 15 - k), now);
    state_.apply(reports("386", "fire", start, 1, 100 + k), now);
  }
  state_.apply(reports("384", "flood", kT0 - 15min, 1, 1000), now);  // ended before now: not this one
  const json::object r = kpis(now).at("reports").as_object();
  EXPECT_EQ(r.at("window").at("start").as_int64(), to_epoch_ms(kT0 - 14min));
  EXPECT_EQ(r.at("total").as_int64(), 15 + 100);
  const json::array& cats = r.at("by_category").as_array();
  ASSERT_EQ(cats.size(), 3u);
  EXPECT_EQ(cats[0].at("code").as_string(), "flood");
  EXPECT_EQ(cats[0].at("count").as_int64(), 15);
  EXPECT_EQ(cats[1].at("count").as_int64(), 100);
  EXPECT_EQ(cats[2].at("count").as_int64(), 0);
  // Per district, the same window.
  for (const auto& d : districts(now)) {
    const auto code = d.at("code").as_string();
    EXPECT_EQ(d.at("reports").as_int64(), code == "380" ? 15 : code == "386" ? 100 : 0) << code;
  }
}

TEST_F(WallStateTest, FallsBackToTheWindowThatJustClosedThenToNoData) {
  state_.apply(transactions("380", kT0 - 1h, 100, 85, 40, 10), kT0);
  // 10:00:05, the new hour has no result yet: the hour that just closed.
  json::object o = kpis(kT0 + 5s).at("online_rate").as_object();
  EXPECT_EQ(o.at("window").at("start").as_int64(), to_epoch_ms(kT0 - 1h));
  EXPECT_DOUBLE_EQ(o.at("value").as_double(), 0.85);
  // Once the new hour has a result, it shows the new hour.
  state_.apply(transactions("380", kT0, 10, 5, 0, 0), kT0 + 10s);
  o = kpis(kT0 + 10s).at("online_rate").as_object();
  EXPECT_DOUBLE_EQ(o.at("value").as_double(), 0.5);
  // More than a window length after the last one: no data, not old numbers.
  o = kpis(kT0 + 2h + 1s).at("online_rate").as_object();
  EXPECT_TRUE(o.at("window").is_null());
  EXPECT_TRUE(o.at("value").is_null());
  EXPECT_EQ(kpis(kT0 + 2h + 1s).at("reports").at("total").as_int64(), 0);
}

TEST_F(WallStateTest, OnlineRateAndOverdueRatioAreRatiosOfProvinceSums) {
  const TimePoint now = kT0 + 20min;
  state_.apply(transactions("380", kT0, 1000, 900, 300, 100), now);  // 90% online
  state_.apply(transactions("384", kT0, 10, 1, 2, 8), now);          // 10% online
  const json::object k = kpis(now);
  // (900 + 1) / (1000 + 10), not the mean of 90% and 10%.
  EXPECT_DOUBLE_EQ(k.at("online_rate").at("value").as_double(), 901.0 / 1010.0);
  EXPECT_FALSE(k.at("online_rate").at("below_target").as_bool());
  EXPECT_DOUBLE_EQ(k.at("online_rate").at("target").as_double(), 0.80);
  EXPECT_DOUBLE_EQ(k.at("overdue_ratio").at("value").as_double(), 108.0 / 410.0);
  EXPECT_DOUBLE_EQ(k.at("overdue_ratio").at("closed").as_double(), 410.0);
  state_.apply(transactions("380", kT0, 1000, 100, 300, 100, 2), now);  // the portal goes down
  EXPECT_TRUE(kpis(now).at("online_rate").at("below_target").as_bool());
  for (const auto& d : districts(now)) {
    if (d.at("code").as_string() == "384") {
      EXPECT_DOUBLE_EQ(d.at("online_rate").as_double(), 0.1);
    }
    if (d.at("code").as_string() == "386") {
      EXPECT_TRUE(d.at("online_rate").is_null());
    }
  }
}

// Each district against the targets, over the hour the tiles show: a
// status beside the alert status, which stays OK.
TEST_F(WallStateTest, EachDistrictStandsAgainstTheKpiTargets) {
  const TimePoint now = kT0 + 20min;
  state_.apply(transactions("380", kT0, 1000, 850, 380, 20), now);  // 85% online, 5% overdue: meets both
  state_.apply(transactions("384", kT0, 200, 60, 90, 10), now);     // 30% online, 10% overdue: below both
  state_.apply(transactions("384", kT0 - 1h, 500, 500, 500, 0), now);  // the hour before: not this one
  auto targets = [&](std::string_view code) {
    for (const auto& d : districts(now)) {
      if (d.at("code").as_string() == code) return d.at("targets").as_object();
    }
    return json::object();
  };
  const json::object t380 = targets("380");
  EXPECT_DOUBLE_EQ(t380.at("online_rate").at("value").as_double(), 0.85);
  EXPECT_DOUBLE_EQ(t380.at("online_rate").at("target").as_double(), 0.80);
  EXPECT_TRUE(t380.at("online_rate").at("meets").as_bool());
  EXPECT_DOUBLE_EQ(t380.at("overdue_ratio").at("value").as_double(), 0.05);
  EXPECT_DOUBLE_EQ(t380.at("overdue_ratio").at("target").as_double(), 0.05);
  EXPECT_TRUE(t380.at("overdue_ratio").at("meets").as_bool());
  const json::object t384 = targets("384");
  EXPECT_DOUBLE_EQ(t384.at("online_rate").at("value").as_double(), 0.30);
  EXPECT_FALSE(t384.at("online_rate").at("meets").as_bool());
  EXPECT_DOUBLE_EQ(t384.at("overdue_ratio").at("value").as_double(), 0.10);
  EXPECT_FALSE(t384.at("overdue_ratio").at("meets").as_bool());
  EXPECT_EQ(status(now, "384"), "ok") << "a target missed is not an alert";
  const json::object t386 = targets("386");
  EXPECT_TRUE(t386.at("online_rate").at("value").is_null());
  EXPECT_TRUE(t386.at("online_rate").at("meets").is_null()) << "no applications: unknown, not missed";
  EXPECT_DOUBLE_EQ(kpis(now).at("overdue_ratio").at("target").as_double(), 0.05);
}

TEST_F(WallStateTest, ProcessingTimeShowsTheSlowestDistrictAndWaterLevelTheHighest) {
  const TimePoint now = kT0 + 20min;
  state_.apply(result("processing_1h", {{"district", "380"}}, kT0, 1h, 1, {{"processing_ms_p95", 5e6}}), now);
  state_.apply(result("processing_1h", {{"district", "386"}}, kT0, 1h, 1, {{"processing_ms_p95", 9e6}}), now);
  state_.apply(result("water_level_10m", {{"district", "386"}, {"source_id", "wl-386"}}, kT0 + 20min, 10min, 1,
                      {{"max", 5.9}}),
               now);
  state_.apply(result("water_level_10m", {{"district", "380"}, {"source_id", "wl-380"}}, kT0 + 20min, 10min, 1,
                      {{"max", 2.4}}),
               now);
  const json::object k = kpis(now);
  EXPECT_DOUBLE_EQ(k.at("processing_p95").at("value_ms").as_double(), 9e6);
  EXPECT_EQ(k.at("processing_p95").at("district").as_string(), "386");
  EXPECT_EQ(k.at("processing_p95").at("district_name").as_string(), "Huyện Bá Thước");
  // Regression: a tie (sketches give equal values) went to whichever group came first.
  state_.apply(result("processing_1h", {{"district", "384"}}, kT0, 1h, 1, {{"processing_ms_p95", 9e6}}), now);
  state_.apply(result("processing_1h", {{"district", "399"}}, kT0, 1h, 1, {{"processing_ms_p95", 9e6}}), now);
  EXPECT_EQ(kpis(now).at("processing_p95").at("district").as_string(), "384");
  EXPECT_DOUBLE_EQ(k.at("water_level").at("value_m").as_double(), 5.9);
  EXPECT_EQ(k.at("water_level").at("station").as_string(), "wl-386");
}

TEST_F(WallStateTest, StationsReportingAreThoseHeardRecentlyOfThoseHeardInTheHour) {
  const TimePoint now = kT0 + 30min;
  state_.apply(station("380", "bts-380-0001", kT0 + 25min, now - 10s), now);
  state_.apply(station("380", "bts-380-0002", kT0 + 25min, now - 20s), now);
  state_.apply(station("384", "bts-384-0001", kT0 + 20min, now - 5min), now);    // silent, still known
  state_.apply(station("384", "bts-384-0002", kT0 - 40min, now - 70min), now);   // not heard in the hour
  state_.apply(station("380", "wl-380", kT0 + 25min, now - 1s, "water_level"), now);  // not a BTS
  const json::object s = kpis(now).at("stations").as_object();
  EXPECT_EQ(s.at("reporting").as_int64(), 2);
  EXPECT_EQ(s.at("total").as_int64(), 3);
  for (const auto& d : districts(now)) {
    if (d.at("code").as_string() == "384") {
      EXPECT_EQ(d.at("stations_reporting").as_int64(), 0);
      EXPECT_EQ(d.at("stations_total").as_int64(), 1);
    }
  }
  // An older window's result (a replay) does not move a station back.
  state_.apply(station("380", "bts-380-0001", kT0 + 20min, now - 4min), now);
  EXPECT_EQ(kpis(now).at("stations").at("reporting").as_int64(), 2);
  state_.advance(now, false);
  EXPECT_EQ(state_.sizes().stations, 3u);  // the one not heard in the hour is forgotten
}

// Without last_seen in the view, a station is heard when a result with
// more heartbeats than before arrives.
TEST_F(WallStateTest, WithoutLastSeenAStationIsHeardWhenItsCountGrows) {
  auto counted = [](std::string id, TimePoint start, std::uint32_t revision, double count, bool final = false) {
    WindowResult r = result("station_5m", {{"district", "384"}, {"source_id", id}, {"kind", "bts_heartbeat"}}, start,
                            5min, revision, {{"count", count}, {"last", 1}}, static_cast<std::int64_t>(count));
    r.final = final;
    return r;
  };
  const TimePoint w = kT0 + 10min;
  state_.apply(counted("bts-384-0001", w, 1, 2), w + 30s);
  state_.apply(counted("bts-384-0001", w, 2, 5), w + 60s);
  EXPECT_EQ(kpis(w + 60s + 90s).at("stations").at("reporting").as_int64(), 1);
  EXPECT_EQ(kpis(w + 60s + 91s).at("stations").at("reporting").as_int64(), 0);
  // The window's final result, with no new heartbeat, is not a sign of life.
  state_.apply(counted("bts-384-0001", w, 3, 5, true), w + 6min);
  EXPECT_EQ(kpis(w + 6min).at("stations").at("reporting").as_int64(), 0);
  EXPECT_EQ(kpis(w + 6min).at("stations").at("total").as_int64(), 1);
  // A result of the next window is.
  state_.apply(counted("bts-384-0001", w + 5min, 1, 1), w + 6min + 1s);
  EXPECT_EQ(kpis(w + 6min + 1s).at("stations").at("reporting").as_int64(), 1);
}

TEST_F(WallStateTest, AlertsAreKeptByFingerprintAndColourTheirDistrict) {
  const TimePoint t = kT0;
  EXPECT_EQ(status(t, "386"), "ok");
  EXPECT_EQ(state_.apply(alert("fp1", AlertEvent::State::kPending, "critical", "386", t, 1), t), Outcome::kApplied);
  EXPECT_EQ(status(t, "386"), "ok");  // pending: not on the wall until it fires
  EXPECT_EQ(alerts(t).at("active").as_array().size(), 0u);
  EXPECT_EQ(state_.apply(alert("fp1", AlertEvent::State::kFiring, "critical", "386", t, 2), t), Outcome::kApplied);
  EXPECT_EQ(status(t, "386"), "critical");
  EXPECT_EQ(state_.apply(alert("fp2", AlertEvent::State::kFiring, "warning", "386", t, 1), t), Outcome::kApplied);
  EXPECT_EQ(status(t, "386"), "critical");  // the worst one
  // An older revision of fp1 arriving late changes nothing.
  EXPECT_EQ(state_.apply(alert("fp1", AlertEvent::State::kPending, "critical", "386", t, 1), t), Outcome::kStale);
  EXPECT_EQ(alerts(t).at("active").as_array().size(), 2u);
  AlertEvent resolved = alert("fp1", AlertEvent::State::kResolved, "critical", "386", t, 3);
  resolved.ends_at = t + 5min;
  EXPECT_EQ(state_.apply(resolved, t + 5min), Outcome::kApplied);
  EXPECT_EQ(status(t + 5min, "386"), "warning");
  const json::object a = alerts(t + 5min);
  ASSERT_EQ(a.at("active").as_array().size(), 1u);
  ASSERT_EQ(a.at("resolved").as_array().size(), 1u);
  EXPECT_EQ(a.at("resolved").at(0).at("state").as_string(), "resolved");
  // The firing event replayed after the resolution stays resolved.
  EXPECT_EQ(state_.apply(alert("fp1", AlertEvent::State::kFiring, "critical", "386", t, 2), t), Outcome::kStale);
  // A new episode (later starts_at) fires again, even with revision 1.
  EXPECT_EQ(state_.apply(alert("fp1", AlertEvent::State::kFiring, "critical", "386", t + 20min, 1), t + 20min),
            Outcome::kApplied);
  EXPECT_EQ(alerts(t + 20min).at("resolved").as_array().size(), 0u);
  EXPECT_EQ(status(t + 20min, "386"), "critical");
  // Resolved alerts leave the wall after resolved_visible.
  AlertEvent r2 = alert("fp2", AlertEvent::State::kResolved, "warning", "386", t, 2);
  r2.ends_at = t + 21min;
  state_.apply(r2, t + 21min);
  state_.advance(t + 21min + state_.options().resolved_visible + 1s, false);
  EXPECT_EQ(alerts(t + 40min).at("resolved").as_array().size(), 0u);
}

// Regression: a pending alert whose condition cleared before it fired ends
// as STATE_INACTIVE; the wall kept showing it as pending.
TEST_F(WallStateTest, APendingAlertThatNeverFiredLeavesTheWall) {
  const TimePoint t = kT0;
  EXPECT_EQ(state_.apply(alert("fp1", AlertEvent::State::kPending, "critical", "386", t, 1), t), Outcome::kApplied);
  EXPECT_EQ(status(t, "386"), "ok");
  AlertEvent canceled = alert("fp1", AlertEvent::State::kInactive, "critical", "386", t, 2);
  canceled.ends_at = t + 1min;
  EXPECT_EQ(state_.apply(canceled, t + 1min), Outcome::kApplied);
  EXPECT_EQ(status(t + 1min, "386"), "ok");
  const json::object a = alerts(t + 1min);
  EXPECT_EQ(a.at("active").as_array().size(), 0u);
  EXPECT_EQ(a.at("resolved").as_array().size(), 0u);  // nothing fired, nothing resolved
  // The pending event replayed after the cancel changes nothing.
  EXPECT_EQ(state_.apply(alert("fp1", AlertEvent::State::kPending, "critical", "386", t, 1), t + 2min),
            Outcome::kStale);
  EXPECT_EQ(status(t + 2min, "386"), "ok");
  // A new episode is pending again.
  EXPECT_EQ(state_.apply(alert("fp1", AlertEvent::State::kPending, "critical", "386", t + 5min, 1), t + 5min),
            Outcome::kApplied);
  EXPECT_EQ(status(t + 5min, "386"), "ok");
  // It shows once it fires.
  EXPECT_EQ(state_.apply(alert("fp1", AlertEvent::State::kFiring, "critical", "386", t + 5min, 2), t + 6min),
            Outcome::kApplied);
  EXPECT_EQ(status(t + 6min, "386"), "critical");
}

// Regression: pending alerts were shown as PENDING tiles and district
// status; they are the alerter's business until they fire.
TEST_F(WallStateTest, AlertsSortBySeverityThenAgeAndPendingOnesAreNotShown) {
  const TimePoint t = kT0;
  state_.apply(alert("a", AlertEvent::State::kFiring, "warning", "380", t - 10min, 1), t);
  state_.apply(alert("b", AlertEvent::State::kFiring, "critical", "384", t - 1min, 1), t);
  state_.apply(alert("c", AlertEvent::State::kFiring, "critical", "386", t - 5min, 1), t);
  state_.apply(alert("d", AlertEvent::State::kPending, "critical", "380", t - 30min, 1), t);
  state_.apply(alert("e", AlertEvent::State::kFiring, "info", "380", t - 60min, 1), t);
  const json::object a = alerts(t);
  std::vector<std::string> order;
  for (const auto& x : a.at("active").as_array()) order.emplace_back(x.at("fingerprint").as_string());
  EXPECT_EQ(order, (std::vector<std::string>{"c", "b", "a", "e"}));
  EXPECT_EQ(a.at("counts").at("critical").as_int64(), 2);
  EXPECT_EQ(a.at("counts").at("warning").as_int64(), 1);
  EXPECT_EQ(a.at("counts").at("info").as_int64(), 1);
  EXPECT_FALSE(a.at("counts").as_object().contains("pending"));
  EXPECT_EQ(state_.firing_by_severity().at("critical"), 2u);
}

TEST_F(WallStateTest, EvidenceShowsWhatTheReportsSaid) {
  const TimePoint t = kT0;
  state_.apply(report("r1", "386", "flood", t - 2min, "Nước ngập sâu 50cm"), t);
  AlertEvent a = alert("fp", AlertEvent::State::kFiring, "critical", "386", t, 1);
  a.sample_ids = {"r1", "r-unknown"};
  state_.apply(a, t);
  const json::object x = alerts(t).at("active").at(0).as_object();
  EXPECT_EQ(x.at("scenario").as_string(), "Call the district's steering committee.");
  EXPECT_EQ(x.at("district_name").as_string(), "Huyện Bá Thước");
  EXPECT_EQ(x.at("evidence_total").as_int64(), 2);
  const json::array& ev = x.at("evidence").as_array();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].at("description").as_string(), "Nước ngập sâu 50cm");
  EXPECT_EQ(ev[0].at("category_name").as_string(), "Ngập lụt");
  EXPECT_EQ(ev[1].as_object().size(), 1u);  // only the id: the report is not known here
}

TEST_F(WallStateTest, LatestReportsAreTheNewestFewAndLongTextIsCut) {
  const TimePoint t = kT0;
  state_.apply(report("r1", "380", "fire", t + 1s), t);
  state_.apply(report("r3", "386", "flood", t + 3s, std::string(400, 'x') + "ập"), t);
  state_.apply(report("r2", "384", "other", t + 2s), t);
  state_.apply(report("r0", "384", "other", t), t);  // older than all: off the list
  EXPECT_EQ(state_.apply(report("r2", "384", "other", t + 2s), t), Outcome::kStale);  // a replay
  const json::array rs = state_.render(t).reports.as_array();
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].at("id").as_string(), "r3");
  EXPECT_EQ(rs[1].at("id").as_string(), "r2");
  EXPECT_EQ(rs[2].at("id").as_string(), "r1");
  EXPECT_EQ(rs[0].at("category_name").as_string(), "Ngập lụt");
  EXPECT_LE(rs[0].at("description").as_string().size(), 280u + 3u);
  EXPECT_EQ(state_.sizes().reports, 4u);
}

TEST_F(WallStateTest, AFeedTurnsStaleWhenItsResultsStopArriving) {
  const TimePoint t = kT0;
  EXPECT_TRUE(state_.feed_stale(Feed::kReports, t));  // nothing yet
  state_.apply(reports("380", "flood", t - 14min, 1, 1), t);
  EXPECT_FALSE(state_.feed_stale(Feed::kReports, t + 2min));
  EXPECT_TRUE(state_.feed_stale(Feed::kReports, t + 2min + 1ms));
  EXPECT_TRUE(state_.feed_stale(Feed::kTelemetry, t));
  state_.apply(station("380", "bts-380-0001", t, t), t);
  EXPECT_FALSE(state_.feed_stale(Feed::kTelemetry, t + 1min));
  EXPECT_DOUBLE_EQ(*state_.feed_age_seconds(Feed::kTelemetry, t + 30s), 30.0);
  const json::array f = state_.render(t + 90s).freshness.as_array();
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].at("feed").as_string(), "reports");
  EXPECT_FALSE(f[0].at("stale").as_bool());
  EXPECT_EQ(f[0].at("last_arrival").as_int64(), to_epoch_ms(t));
  EXPECT_TRUE(f[1].at("stale").as_bool());
  EXPECT_TRUE(f[1].at("last_arrival").is_null());
  EXPECT_TRUE(f[2].at("stale").as_bool());
}

TEST_F(WallStateTest, SparklinesSampleEveryIntervalAndKeepTheLastPoints) {
  const Millis interval = state_.options().sparkline_interval;
  state_.apply(transactions("380", kT0, 100, 90, 10, 0), kT0);
  state_.advance(kT0 + 1s, false);  // restoring: no sample
  EXPECT_EQ(kpis(kT0 + 1s).at("online_rate").at("history").as_array().size(), 0u);
  for (int i = 0; i < 200; ++i) {
    state_.apply(transactions("380", kT0, 100 + i, 90, 10, 0, static_cast<std::uint32_t>(2 + i)), kT0);
    state_.advance(kT0 + 1s + interval * i, true);
    state_.advance(kT0 + 1s + interval * i + 1s, true);  // within the interval: no second point
  }
  const json::array h = kpis(kT0 + 1s + interval * 199).at("online_rate").at("history").as_array();
  ASSERT_EQ(h.size(), state_.options().sparkline_points);
  EXPECT_DOUBLE_EQ(h.back().at(1).as_double(), 90.0 / 299.0);
  EXPECT_EQ(h.back().at(0).as_int64() - h[h.size() - 2].at(0).as_int64(), interval.count());
  EXPECT_EQ(kpis(kT0).at("reports").at("by_category").at(0).at("history").as_array().size(),
            state_.options().sparkline_points);
}

TEST_F(WallStateTest, MemoryStaysBounded) {
  WallOptions o;
  o.max_windows_per_group = 3;
  o.max_groups_per_view = 5;
  o.max_alerts = 4;
  o.evidence_reports = 10;
  o.max_stations = 7;
  WallState s(o, registry_);
  const TimePoint t = kT0;
  for (int i = 0; i < 10; ++i) s.apply(reports("380", "flood", t - 14min + Millis(i * 60'000), 1, i), t);
  EXPECT_EQ(s.sizes().windows, 3u);
  for (int i = 0; i < 20; ++i) s.apply(reports("d" + std::to_string(i), "flood", t - 14min, 1, 1), t + Millis(i));
  EXPECT_EQ(s.sizes().groups, 5u);
  for (int i = 0; i < 10; ++i) {
    s.apply(alert("fp" + std::to_string(i), AlertEvent::State::kFiring, i == 0 ? "critical" : "info", "380", t, 1), t);
  }
  EXPECT_EQ(s.sizes().active_alerts, 4u);
  EXPECT_EQ(s.firing_by_severity().at("critical"), 1u);  // the critical one is kept
  for (int i = 0; i < 30; ++i) s.apply(report("r" + std::to_string(i), "380", "flood", t + Millis(i)), t);
  EXPECT_EQ(s.sizes().reports, 10u);
  for (int i = 0; i < 30; ++i) s.apply(station("380", "bts-" + std::to_string(i), t, t + Millis(i)), t);
  EXPECT_EQ(s.sizes().stations, 7u);
  // Windows that ended longer ago than keep_windows go.
  s.advance(t + o.keep_windows + 1h, false);
  EXPECT_EQ(s.sizes().windows, 0u);
  EXPECT_EQ(s.sizes().groups, 0u);
}

TEST_F(WallStateTest, OtherViewsAreIgnoredAndUnusableRecordsAreInvalid) {
  const TimePoint t = kT0;
  EXPECT_EQ(state_.apply(result("reports_1m", {{"district", "380"}}, t, 1min, 1, {}), t), Outcome::kIgnored);
  EXPECT_EQ(state_.apply(result("", {}, t, 1min, 1, {}), t), Outcome::kInvalid);
  EXPECT_EQ(state_.apply(result("reports_15m", {}, t, 0min, 1, {}), t), Outcome::kInvalid);
  EXPECT_EQ(state_.apply(result("station_5m", {{"district", "380"}}, t, 5min, 1, {}), t), Outcome::kInvalid);
  AlertEvent a = alert("", AlertEvent::State::kFiring, "critical", "380", t, 1);
  EXPECT_EQ(state_.apply(a, t), Outcome::kInvalid);
  a.fingerprint = "x";
  a.state = AlertEvent::State::kUnspecified;
  EXPECT_EQ(state_.apply(a, t), Outcome::kInvalid);
  EXPECT_EQ(state_.apply(Report{}, t), Outcome::kInvalid);
  EXPECT_TRUE(state_.feed_stale(Feed::kReports, t));
}

TEST_F(WallStateTest, AProvinceWideAlertColoursNoDistrictButIsListed) {
  AlertEvent a = alert("portal", AlertEvent::State::kFiring, "warning", "", kT0, 1);
  a.group = {};
  state_.apply(a, kT0);
  for (const auto& d : districts(kT0)) EXPECT_EQ(d.at("status").as_string(), "ok");
  const json::object x = alerts(kT0).at("active").at(0).as_object();
  EXPECT_EQ(x.at("district").as_string(), "");
  EXPECT_EQ(x.at("severity").as_string(), "warning");
}

// A BTS outage: 48 silent stations and their district's BtsStationsDown
// are one incident, one card; a stale telemetry feed takes them all.
TEST_F(WallStateTest, AnIncidentIsOneCardWithItsInhibitedAlertsFolded) {
  WallOptions o = options();
  o.inhibitions = {{"BtsStationsDown", {"BtsStationSilent"}, {"district"}},
                   {"TelemetryFeedStale", {"BtsStationSilent", "BtsStationsDown"}, {}}};
  WallState wall(o, registry_);
  auto bts = [](std::string rule, std::string fp, std::string severity, std::vector<Label> group) {
    AlertEvent a = alert(std::move(fp), AlertEvent::State::kFiring, std::move(severity), "", kT0 - 10min, 1);
    a.rule = std::move(rule);
    a.group = std::move(group);
    return a;
  };
  for (int i = 0; i < 48; ++i) {
    const std::string id = "bts-384-" + std::to_string(i);
    wall.apply(bts("BtsStationSilent", "silent-" + id, "warning", {{"district", "384"}, {"source_id", id}}), kT0);
  }
  wall.apply(bts("BtsStationSilent", "silent-bts-386-1", "warning", {{"district", "386"}, {"source_id", "bts-386-1"}}), kT0);
  auto cards = [&] { return wall.render(kT0).alerts.as_object().at("active").as_array(); };
  EXPECT_EQ(cards().size(), 49u) << "no BtsStationsDown yet: every station is a card";

  wall.apply(bts("BtsStationsDown", "down-384", "critical", {{"district", "384"}}), kT0);
  json::array shown = cards();
  ASSERT_EQ(shown.size(), 2u);
  const json::object& down = shown[0].as_object();
  EXPECT_EQ(down.at("fingerprint").as_string(), "down-384");
  EXPECT_EQ(down.at("folded_count").as_int64(), 48);
  const json::object& first = down.at("folded").at(0).as_object();
  EXPECT_EQ(first.at("rule").as_string(), "BtsStationSilent");
  EXPECT_EQ(first.at("inhibited_by").as_string(), "down-384");
  EXPECT_EQ(first.at("group").at("district").as_string(), "384");
  EXPECT_EQ(shown[1].at("fingerprint").as_string(), "silent-bts-386-1");
  EXPECT_EQ(shown[1].at("folded_count").as_int64(), 0);
  const json::object counts = wall.render(kT0).alerts.as_object().at("counts").as_object();
  EXPECT_EQ(counts.at("critical").as_int64(), 1);
  EXPECT_EQ(counts.at("warning").as_int64(), 1) << "counts are of cards (incidents)";

  wall.apply(bts("TelemetryFeedStale", "feed", "critical", {}), kT0 - 20min);
  shown = cards();
  ASSERT_EQ(shown.size(), 1u);
  EXPECT_EQ(shown[0].at("fingerprint").as_string(), "feed");
  EXPECT_EQ(shown[0].at("folded_count").as_int64(), 50);
  const Sections now = wall.render(kT0);
  for (const auto& d : now.districts.as_array()) {
    EXPECT_EQ(d.at("status").as_string(), "ok") << "stations under a stale feed are no district's fault";
  }
}

TEST(WallNeedsTest, TheShippedViewsHaveWhatTheWallShows) {
  const views::Catalog shipped = views::Catalog::load(IOC_DEFAULT_CONFIG_DIR "/views.yaml");
  EXPECT_NO_THROW(views::require(shipped, needs(ViewNames{})));
}

TEST(WallNeedsTest, AMissingValueNamesTheSettingViewAndValue) {
  const views::Catalog catalog = views::Catalog::parse(R"y(
views:
  processing_1h:
    source: transactions
    group_by: [district]
    window: {tumbling: 1h}
    aggregations: [{name: processing_ms, quantiles: [0.5, 0.99], of: processing_ms}]
)y",
                                                       "views.yaml");
  ViewNames names;
  try {
    views::require(catalog, needs(names));
    FAIL() << "accepted a catalog without the wall's views";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "views.yaml: wall.views.reports: view 'reports_15m' is not in the views file (it has: processing_1h)");
  }
  try {
    views::require(catalog, {needs(names)[2]});
    FAIL() << "accepted processing_1h without processing_ms_p95";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "views.yaml: wall.views.processing: view 'processing_1h' has no value 'processing_ms_p95' (its values: "
              "processing_ms_p50, processing_ms_p99)");
  }
}

}  // namespace
}  // namespace ioc::wall
