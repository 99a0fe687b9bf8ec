// The backtest without Kafka: window results fed as records, time from
// their watermarks, the report per rule and group; its flags.
#include "backtest.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "ioc/codec/codec.hpp"
#include "ioc/rules/parse.hpp"
#include "province.hpp"

namespace ioc::alerter {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kT0 = 1'699'999'200'000;
const TimePoint kFrom = from_epoch_ms(kT0);

constexpr const char* kRules = R"y(rules:
  - name: FloodSurge
    view: reports_1m
    group_by: [district, category]
    value: count
    fire: ">= 20"
    clear: "< 10"
    keep_firing_for: 2m
    grace: 10s
    severity: critical
    category: naturalDisaster
    annotations: {summary: "{{value}} reports"}
    scenario: Send the rescue team.
  - name: FeedQuiet
    view: reports_1m
    group_by: []
    absent_for: 5m
    keep_firing_for: 0s
    category: infrastructure
    annotations: {summary: "quiet for {{silent_for}}"}
    scenario: Check the intake.
)y";

AlertEvent event(const std::string& rule, const std::string& district, AlertEvent::State state, std::int64_t at_s) {
  AlertEvent e;
  e.rule = rule;
  e.fingerprint = rule + "/" + district;
  e.group = {{"district", district}};
  e.state = state;
  e.sent_at = from_epoch_ms(kT0 + at_s * 1000);
  e.ends_at = state == AlertEvent::State::kResolved ? e.sent_at : TimePoint{};
  return e;
}

class BacktestTest : public ::testing::Test {
 protected:
  BacktestTest() : views_(views::Catalog::parse(test::kReportsViews, "views.yaml")) {}

  rules::RuleSet rules(const std::string& yaml = kRules) {
    rules::Parsed p = rules::parse_rules(yaml, "rules.yaml", &views_);
    for (const auto& e : p.errors) ADD_FAILURE() << e.to_string();
    return std::move(p.rules);
  }

  /// A result of district 380's flood reports for the minute starting
  /// `minute` minutes after kT0, produced when the watermark stood at `wm_s`.
  std::string result(int minute, std::int64_t count, std::uint64_t revision, std::int64_t wm_s) {
    WindowResult r;
    r.view = "reports_1m";
    r.group = {{"district", "380"}, {"category", "flood"}};
    r.window_start = from_epoch_ms(kT0 + minute * 60'000LL);
    r.window_end = r.window_start + 60s;
    r.revision = revision;
    r.count = count;
    r.values = {{"count", static_cast<double>(count)}};
    r.watermark = from_epoch_ms(kT0 + wm_s * 1000);
    std::string bytes;
    codec::encode(r, bytes);
    return bytes;
  }

  bool feed(Backtest& bt, const std::string& bytes) {
    kafka::RecordView v;
    v.topic = "ioc.aggregates.v1";
    v.offset = offset_++;
    v.value = bytes;
    WindowResult r;
    EXPECT_TRUE(codec::decode(bytes, r).ok());
    return bt.feed(v, r.watermark);
  }

  views::Catalog views_;
  Registry registry_ = test::one_district();
  Config cfg_;
  std::int64_t offset_ = 0;
};

TEST_F(BacktestTest, TheReportCountsEpisodesFlapsAndPendingThatNeverFired) {
  rules::RuleSet set = rules();
  BacktestReport report(set, kFrom, kFrom + 1h);
  using S = AlertEvent::State;
  report.add(event("FloodSurge", "380", S::kPending, 10));
  report.add(event("FloodSurge", "380", S::kInactive, 20));
  report.add(event("FloodSurge", "380", S::kFiring, 100));
  report.add(event("FloodSurge", "380", S::kFiring, 160));  // an update of the episode
  report.add(event("FloodSurge", "380", S::kResolved, 400));
  report.add(event("FloodSurge", "380", S::kFiring, 460));  // again within keep_firing_for (2m): a flap
  report.add(event("FloodSurge", "384", S::kFiring, 3700));  // after --to: not counted
  report.finish(kFrom + 600s);
  const BacktestReport::Counts t = report.totals();
  EXPECT_EQ(t.firing_episodes, 2);
  EXPECT_EQ(t.pending_never_fired, 1);
  EXPECT_EQ(t.flaps, 1);
  EXPECT_EQ(t.firing, 300s + 140s);  // 100..400, then 460..600 (still firing at the end)
  EXPECT_TRUE(t.still_firing);
  EXPECT_EQ(t.first_fire, kFrom + 100s);
  EXPECT_EQ(t.last_fire, kFrom + 460s);
  const boost::json::value j = report.to_json();
  const auto& rules_json = j.at("rules").as_array();
  ASSERT_EQ(rules_json.size(), 2u);  // every rule, also one that never fired
  EXPECT_EQ(rules_json[0].at("rule").as_string(), "FeedQuiet");
  EXPECT_EQ(rules_json[0].at("firing_episodes").as_int64(), 0);
  EXPECT_EQ(rules_json[1].at("groups").at(0).at("labels").at("district").as_string(), "380");
  EXPECT_NE(report.to_text().find("FloodSurge: 2 firing, 7m20s in all, 1 pending never fired, 1 flap(s)"),
            std::string::npos)
      << report.to_text();
}

// Time comes from the results: a silence of the whole feed fires absent_for
// after the last result that brought records, whatever the wall clock says,
// and a surge resolves as it would have live.
TEST_F(BacktestTest, RulesRunOnTheResultsTime) {
  Backtest bt(cfg_, rules(), views_, registry_, kFrom, kFrom + 1h);
  EXPECT_TRUE(feed(bt, result(0, 5, 1, 30)));
  EXPECT_TRUE(feed(bt, result(0, 25, 2, 50)));  // a surge: fires
  EXPECT_TRUE(feed(bt, result(1, 3, 1, 90)));
  EXPECT_TRUE(feed(bt, result(2, 2, 1, 150)));
  EXPECT_EQ(bt.now(), kFrom + 150s);
  EXPECT_FALSE(feed(bt, result(70, 1, 1, 3601 + 60 * 10)));  // past --to: the span is over
  const BacktestReport& report = bt.finish(kFrom + 1h);
  const boost::json::value j = report.to_json();
  const auto& rules_json = j.at("rules").as_array();
  const auto& quiet = rules_json[0];
  const auto& surge = rules_json[1];
  EXPECT_EQ(surge.at("firing_episodes").as_int64(), 1);
  EXPECT_EQ(surge.at("first_fire").as_string(), "2023-11-14T22:00:50.000Z");
  EXPECT_FALSE(surge.at("still_firing").as_bool());
  // Fired at 50 s; minute 1, ended at 120 s with 3, clears it from then: resolved 2 minutes later.
  EXPECT_NEAR(surge.at("firing_seconds").as_double(), 190, 2);
  // Nothing after 150 s: the feed is quiet 5 minutes later, and stays so to the end of the span.
  EXPECT_EQ(quiet.at("firing_episodes").as_int64(), 1);
  EXPECT_EQ(quiet.at("first_fire").as_string(), "2023-11-14T22:07:30.000Z");
  EXPECT_TRUE(quiet.at("still_firing").as_bool());
  EXPECT_EQ(j.at("results").as_uint64(), 4u);
}

// A4 as its author would meet it: 25, 12, 25, 12, 25 flood reports a
// minute, 12 inside the band (fire >= 20, clear < 10) that keeps the alert
// firing. Each minute starts at 0, so its first early results sit under the
// clear line: one episode, not fire/resolve every minute.
TEST_F(BacktestTest, AValueOscillatingAroundTheThresholdIsOneEpisode) {
  std::string no_keep = kRules;  // nothing but the hysteresis holds it
  no_keep.replace(no_keep.find("keep_firing_for: 2m"), 19, "keep_firing_for: 0s");
  Backtest bt(cfg_, rules(no_keep), views_, registry_, kFrom, kFrom + 1h);
  const std::int64_t per_minute[] = {25, 12, 25, 12, 25, 2, 1, 0, 0};
  for (int m = 0; m < 9; ++m) {
    const std::int64_t n = per_minute[m];
    EXPECT_TRUE(feed(bt, result(m, n / 4, 1, m * 60 + 15)));
    EXPECT_TRUE(feed(bt, result(m, n / 2, 2, m * 60 + 30)));
    EXPECT_TRUE(feed(bt, result(m, n, 3, m * 60 + 59)));
    EXPECT_TRUE(feed(bt, result(m, n, kFinalRevision | 4, m * 60 + 70)));
  }
  const BacktestReport& report = bt.finish(kFrom + 10min);
  const boost::json::value j = report.to_json();
  const auto& surge = j.at("rules").as_array()[1];
  EXPECT_EQ(surge.at("firing_episodes").as_int64(), 1) << boost::json::serialize(surge);
  EXPECT_EQ(surge.at("flaps").as_int64(), 0);
  EXPECT_FALSE(surge.at("still_firing").as_bool());
}

// What a replay writes: in partition 0, the transactions unit's results
// run hours ahead of the telemetry unit's; partition 1 is fetched later.
TEST(ResultOrderTest, ResultsAreReleasedInWatermarkOrderOnceEveryUnitOfEveryPartitionIsPast) {
  const TimePoint t0 = from_epoch_ms(1'800'000'000'000);
  auto at = [&](int minutes) { return t0 + std::chrono::minutes(minutes); };
  auto held = [&](int minutes, std::int32_t partition) {
    return ResultOrder::Held{at(minutes), true, partition, 0, std::to_string(minutes)};
  };
  auto released = [](ResultOrder& o) {
    std::vector<std::string> out;
    while (auto h = o.next()) out.push_back(h->value);
    return out;
  };
  const std::pair<int, std::int32_t> transactions{1, 0}, telemetry{2, 0}, telemetry3{2, 3};
  ResultOrder o({0, 1}, 1min);
  o.add(held(300, 0), transactions);
  o.add(held(301, 0), transactions);
  o.add(held(10, 0), telemetry);
  EXPECT_EQ(released(o), std::vector<std::string>{}) << "nothing read from partition 1 yet";
  o.add(held(12, 1), telemetry3);
  EXPECT_EQ(released(o), std::vector<std::string>{}) << "every unit is within the margin of 10";
  o.add(held(20, 0), telemetry);
  o.add(held(40, 1), telemetry3);
  // Telemetry of partition 0 reached 20: up to 19 may go, and 10 and 12 are
  // all that is held at or below it, whatever was read before them.
  EXPECT_EQ(released(o), (std::vector<std::string>{"10", "12"}));
  o.done(0);
  o.done(1);
  EXPECT_EQ(released(o), (std::vector<std::string>{"20", "40", "300", "301"}));
  EXPECT_EQ(o.held(), 0u);
}

// A record that does not decode names no unit and is released first (the
// pipeline sets it aside).
TEST(ResultOrderTest, ARecordThatDoesNotDecodeGoesFirst) {
  ResultOrder o({0}, 0ms);
  o.add({from_epoch_ms(5'000), true, 0, 0, "a"}, {1, 0});
  o.add({TimePoint{}, false, 0, 1, "junk"}, {-1, 0});
  auto h = o.next();
  ASSERT_TRUE(h);
  EXPECT_EQ(h->value, "junk");
  EXPECT_EQ(o.next()->value, "a");
}

TEST(BacktestArgsTest, FlagsAreTakenAndTheRestLeftForTheSettings) {
  std::vector<std::string> args{"--backtest", "--rules", "a.yaml", "b.yaml", "--config", "ioc.yaml", "--from",
                                "2026-12-05T00:00:00Z", "--format", "json", "--set", "x=1"};
  auto o = take_backtest_args(args);
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->rule_files, (std::vector<std::string>{"a.yaml", "b.yaml"}));
  EXPECT_TRUE(o->json);
  EXPECT_EQ(to_epoch_ms(*o->from), 1796428800000);
  EXPECT_FALSE(o->to);
  EXPECT_EQ(args, (std::vector<std::string>{"--config", "ioc.yaml", "--set", "x=1"}));
  args = {"--backtest", "--from", "yesterday"};
  EXPECT_NE(take_backtest_args(args).error().message.find("--from: not an RFC 3339 time"), std::string::npos);
  args = {"--backtest", "--format", "xml"};
  EXPECT_EQ(take_backtest_args(args).error().message, "--format must be text or json");
  args = {"--backtest", "--from", "2026-12-05T00:00:00Z", "--to", "2026-12-04T00:00:00Z"};
  EXPECT_EQ(take_backtest_args(args).error().message, "--to must be after --from");
}

}  // namespace
}  // namespace ioc::alerter
