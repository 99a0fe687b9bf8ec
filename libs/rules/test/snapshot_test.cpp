#include "fixture.hpp"
#include "ioc/rules/fingerprint.hpp"

namespace ioc::rules::test {
namespace {

using SnapshotTest = RulesTest;

TEST_F(SnapshotTest, ARestoredEvaluatorContinuesExactlyLikeTheOriginal) {
  const std::string rules = surge_rule("    keep_firing_for: 20s\n");
  Evaluator a = make(rules);
  std::vector<AlertEvent> events;
  (void)a.add(result("reports_1m", flood(), 0, 60, 1, 30, {}, {"r1"}), at(10));
  (void)a.add(result("reports_1m", flood("384"), 0, 60, 1, 5), at(10));
  a.evaluate_touched(at(10), events);
  ASSERT_EQ(states(events), "firing");

  Evaluator b = make(rules);
  ASSERT_TRUE(b.restore_snapshot(a.snapshot()).ok());
  EXPECT_EQ(b.snapshot(), a.snapshot());
  ASSERT_EQ(b.active().size(), 1u);
  EXPECT_EQ(b.active()[0].lifecycle.phase, Phase::kFiring);

  // The same inputs from here on: the same events (and no second firing).
  std::vector<AlertEvent> ea;
  std::vector<AlertEvent> eb;
  for (Evaluator* e : {&a, &b}) {
    auto& out = e == &a ? ea : eb;
    (void)e->add(result("reports_1m", flood(), 0, 60, 2, 31), at(20));
    e->evaluate_touched(at(20), out);
    (void)e->add(result("reports_1m", flood(), 60, 60, kFinal | 1, 2), at(65));  // the next minute ended quiet
    e->evaluate_all(at(75), out);
    e->evaluate_all(at(95), out);
  }
  EXPECT_EQ(states(ea), "resolved");
  EXPECT_EQ(ea, eb);
}

TEST_F(SnapshotTest, BaselineHistoryAndSilenceSurvive) {
  const std::string rules = R"y(rules:
  - name: Volume
    view: reports_1m
    group_by: [district]
    value: count
    baseline: {same_window: 5m, floor: 1}
    fire: ">= 3"
    grace: 5s
    category: other
    annotations: {summary: "{{value}} vs {{baseline}}"}
    scenario: x
  - name: Silent
    view: station_5m
    group_by: [source_id]
    absent_for: 2m
    category: infrastructure
    annotations: {summary: "{{source_id}}"}
    scenario: x
)y";
  Evaluator a = make(rules);
  std::vector<AlertEvent> events;
  (void)a.add(result("reports_1m", flood(), 0, 60, 1, 4), at(30));
  (void)a.add(result("station_5m", {{"district", "384"}, {"source_id", "s1"}, {"kind", "bts_heartbeat"}}, 0, 300, 1,
                     1, {}, {}, 30),
              at(31));
  a.evaluate_all(at(31), events);
  Evaluator b = make(rules);
  ASSERT_TRUE(b.restore_snapshot(a.snapshot()).ok());
  EXPECT_EQ(b.stats().history, 1u);
  (void)b.add(result("reports_1m", flood(), 300, 60, 1, 12), at(310));
  b.evaluate_touched(at(310), events);
  b.evaluate_all(at(151 + 5), events);  // an earlier time: nothing goes back
  b.evaluate_all(at(311), events);
  ASSERT_EQ(states(events), "firing,firing");
  EXPECT_EQ(events[0].rule, "Volume");
  EXPECT_EQ(events[0].summary, "12 vs 4");
  EXPECT_EQ(events[1].rule, "Silent");  // silent since 30 s, from the snapshot
}

TEST_F(SnapshotTest, CorruptOrForeignBytesChangeNothing) {
  Evaluator a = make(surge_rule());
  (void)a.add(result("reports_1m", flood(), 0, 60, 1, 30), at(10));
  std::vector<AlertEvent> events;
  a.evaluate_touched(at(10), events);
  std::string bytes = a.snapshot();
  Evaluator b = make(surge_rule());
  const std::string before = b.snapshot();
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x40;
  EXPECT_EQ(b.restore_snapshot(flipped).error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(b.restore_snapshot(bytes.substr(0, bytes.size() - 9)).error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(b.restore_snapshot("not a snapshot at all").error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(b.snapshot(), before);
}

TEST_F(SnapshotTest, AChangedRuleKeepsItsAlertsButNotItsWindows) {
  Evaluator a = make(surge_rule());
  std::vector<AlertEvent> events;
  (void)a.add(result("reports_1m", flood(), 0, 60, 1, 30), at(10));
  a.evaluate_touched(at(10), events);
  std::string changed = surge_rule();
  changed.replace(changed.find("match: {category: flood}"), 24, "match: {category: [flood, fire]}");
  Evaluator b = make(changed);
  ASSERT_TRUE(b.restore_snapshot(a.snapshot()).ok());
  ASSERT_EQ(b.active().size(), 1u);  // still firing: no second notification ...
  EXPECT_EQ(b.stats().windows, 0u);  // ... but the windows of the old definition are gone
  events.clear();
  b.evaluate_all(at(11), events);
  EXPECT_EQ(states(events), "resolved");  // no data under the new definition yet
}

// Regression: changing absent_for from 60s to 90s and reloading raised
// "silent for 59m55s" for every station heard a moment ago: the changed
// rule's series were dropped, and silence counted from each alert's creation.
TEST_F(SnapshotTest, AnEditedAbsenceRuleKeepsWhenEachSeriesWasLastHeard) {
  const std::string old_rule = R"y(rules:
  - name: StationSilent
    view: station_5m
    match: {kind: bts_heartbeat}
    group_by: [district, source_id]
    absent_for: 60s
    category: infrastructure
    annotations: {summary: "{{source_id}} silent for {{silent_for}}"}
    scenario: x
)y";
  std::string new_rule = old_rule;
  new_rule.replace(new_rule.find("absent_for: 60s"), 15, "absent_for: 90s");
  const std::vector<Label> station{{"district", "384"}, {"source_id", "s1"}, {"kind", "bts_heartbeat"}};
  Evaluator a = make(old_rule);
  std::vector<AlertEvent> events;
  // Heard for an hour, window after window; the last record read at 3590 s.
  for (int w = 0; w < 12; ++w) {
    (void)a.add(result("station_5m", station, w * 300, 300, 1, 5, {}, {}, w * 300 + 290), at(w * 300 + 291));
  }
  a.evaluate_all(at(3591), events);
  ASSERT_EQ(states(events), "");

  Evaluator b = make(new_rule);
  ASSERT_TRUE(b.restore_snapshot(a.snapshot()).ok());
  b.evaluate_all(at(3595), events);
  EXPECT_EQ(states(events), "") << (events.empty() ? "" : events[0].summary);
  b.evaluate_all(at(3590 + 89), events);
  EXPECT_EQ(states(events), "");
  b.evaluate_all(at(3590 + 91), events);
  ASSERT_EQ(states(events), "firing");  // 90 s after the last record, under the new definition
  EXPECT_EQ(events[0].summary, "s1 silent for 91s");
}

TEST_F(SnapshotTest, RestoringFromPublishedEventsPreventsASecondFiring) {
  // The alerter published "firing" and died before its next checkpoint.
  Evaluator a = make(surge_rule());
  std::vector<AlertEvent> published;
  (void)a.add(result("reports_1m", flood(), 0, 60, 1, 30), at(10));
  a.evaluate_touched(at(10), published);
  ASSERT_EQ(states(published), "firing");

  Evaluator b = make(surge_rule());  // nothing checkpointed
  ASSERT_TRUE(b.restore(published[0]));
  // The same results are read again after the restart.
  std::vector<AlertEvent> again;
  (void)b.add(result("reports_1m", flood(), 0, 60, 1, 30), at(12));
  b.evaluate_touched(at(12), again);
  EXPECT_EQ(states(again), "");
  (void)b.add(result("reports_1m", flood(), 0, 60, kFinal | 2, 3), at(20));
  b.evaluate_touched(at(20), again);
  ASSERT_EQ(states(again), "resolved");
  EXPECT_EQ(again[0].id, published[0].id);  // the same episode
  EXPECT_EQ(again[0].revision, 2u);
}

TEST_F(SnapshotTest, OnlyANewerEventOverridesTheLifecycle) {
  Evaluator a = make(surge_rule());
  std::vector<AlertEvent> events;
  (void)a.add(result("reports_1m", flood(), 0, 60, 1, 30), at(10));
  a.evaluate_touched(at(10), events);
  (void)a.add(result("reports_1m", flood(), 0, 60, kFinal | 2, 1), at(20));
  a.evaluate_touched(at(20), events);
  ASSERT_EQ(states(events), "firing,resolved");
  Evaluator b = make(surge_rule());
  ASSERT_TRUE(b.restore(events[1]));
  ASSERT_TRUE(b.restore(events[0]));  // older: ignored
  EXPECT_TRUE(b.active().empty());

  AlertEvent foreign = events[0];
  foreign.rule = "Gone";
  EXPECT_FALSE(b.restore(foreign));
  AlertEvent relabeled = events[0];
  relabeled.group = {{"district", "380"}};
  EXPECT_FALSE(b.restore(relabeled));
}

TEST_F(SnapshotTest, PendingIsRestoredWithItsStart) {
  Evaluator a = make(surge_rule("    for: 30s\n"));
  std::vector<AlertEvent> events;
  (void)a.add(result("reports_1m", flood(), 0, 60, 1, 30), at(5));
  a.evaluate_touched(at(5), events);
  ASSERT_EQ(states(events), "pending");
  Evaluator b = make(surge_rule("    for: 30s\n"));
  ASSERT_TRUE(b.restore(events[0]));
  (void)b.add(result("reports_1m", flood(), 0, 60, 1, 30), at(36));
  std::vector<AlertEvent> after;
  b.evaluate_touched(at(36), after);
  ASSERT_EQ(states(after), "firing");
  EXPECT_EQ(after[0].starts_at, at(5));
  EXPECT_EQ(after[0].revision, 2u);
}

}  // namespace
}  // namespace ioc::rules::test
