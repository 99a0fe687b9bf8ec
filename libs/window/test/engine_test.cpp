#include "ioc/window/engine.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace ioc::window {
namespace {

ViewSpec tumbling(std::int64_t size_ms, std::vector<AggregationSpec> aggs = {AggregationSpec::count("n")}) {
  ViewSpec s;
  s.name = "t";
  s.window = WindowSpec::tumbling(Millis(size_ms)).value();
  s.aggregations = std::move(aggs);
  s.idle_timeout = Millis(0);
  return s;
}

Event ev(GroupKey key, std::int64_t t, double value = 1, std::int32_t partition = 0) {
  Event e;
  e.key = key;
  e.time_ms = t;
  e.value = value;
  e.partition = partition;
  e.record_ref = static_cast<std::uint64_t>(t) + 1;
  return e;
}

struct Out {
  GroupKey key;
  std::int64_t start, end;
  std::uint32_t rev;
  bool final;
  std::int64_t count;
  friend bool operator==(const Out&, const Out&) = default;
};

std::vector<Out> collect(std::span<const WindowResult> rs) {
  std::vector<Out> out;
  for (const auto& r : rs) out.push_back({r.key, r.start_ms, r.end_ms, r.revision, r.final, r.count});
  return out;
}

TEST(EngineTest, CreateRejectsInvalidSpecsAndDuplicateNames) {
  auto bad = tumbling(10);
  bad.window.size = Millis(-5);
  auto e = Engine::create({bad});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, "view \"t\": window.size must be > 0, got -5ms");
  EXPECT_FALSE(Engine::create({tumbling(10), tumbling(20)}).ok());
  EXPECT_TRUE(Engine::create({}).ok());
}

TEST(EngineTest, WindowBoundariesAreHalfOpen) {
  auto e = Engine::create({tumbling(10)}).value();
  EXPECT_EQ(e.add(0, ev(1, -1)), EventOutcome::kAccepted);
  EXPECT_EQ(e.add(0, ev(1, 0)), EventOutcome::kAccepted);
  EXPECT_EQ(e.add(0, ev(1, 9)), EventOutcome::kAccepted);
  EXPECT_EQ(e.add(0, ev(1, -1)), EventOutcome::kLate);  // watermark 9 >= end 0 of [-10,0)
  // watermark 9: [-10,0) closes; [0,10) needs watermark >= 10
  EXPECT_EQ(collect(e.advance(0)), (std::vector<Out>{{1, -10, 0, 1, true, 1}}));
  EXPECT_EQ(e.add(0, ev(1, 10)), EventOutcome::kAccepted);
  EXPECT_EQ(collect(e.advance(1)), (std::vector<Out>{{1, 0, 10, 1, true, 2}}));
  EXPECT_EQ(e.add(0, ev(1, 20)), EventOutcome::kAccepted);
  EXPECT_EQ(collect(e.advance(2)), (std::vector<Out>{{1, 10, 20, 1, true, 1}}));
}

TEST(EngineTest, LateAndInvalidEventsAreReportedAndCounted) {
  auto spec = tumbling(10);
  spec.allowed_lateness = Millis(5);
  auto e = Engine::create({spec}).value();
  e.add(0, ev(1, 3));
  e.add(0, ev(1, 14));
  e.advance(0);  // watermark 14 < 10 + 5: [0,10) still open
  EXPECT_EQ(e.add(0, ev(1, 4)), EventOutcome::kAccepted);
  e.add(0, ev(1, 15));
  EXPECT_EQ(collect(e.advance(1)), (std::vector<Out>{{1, 0, 10, 1, true, 2}}));
  EXPECT_EQ(e.add(0, ev(7, 9)), EventOutcome::kLate);
  Event bad = ev(1, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(e.add(0, bad), EventOutcome::kRejected);
  EXPECT_EQ(e.watermark(0), 15);
  EXPECT_EQ(e.stats(0).late_events, 1U);
  EXPECT_EQ(e.stats(0).rejected_events, 1U);
  EXPECT_EQ(e.stats(0).accepted_events, 4U);
}

// A partition resumed from a committed position keeps the watermark its
// windows reached before: windows final then stay closed, open ones fill.
TEST(EngineTest, AssignedFrontierKeepsFinalWindowsClosed) {
  auto spec = tumbling(10);
  spec.allowed_lateness = Millis(5);
  auto e = Engine::create({spec}).value();
  e.assign_partition(0, 17);  // [0,10) was final (10 + 5 <= 17); [10,20) was not
  e.advance(0);
  EXPECT_EQ(e.add(0, ev(1, 9)), EventOutcome::kLate);  // judged against the frontier 17
  EXPECT_EQ(e.add(0, ev(1, 12)), EventOutcome::kAccepted);
  EXPECT_EQ(e.add(0, ev(1, 26)), EventOutcome::kAccepted);
  EXPECT_EQ(collect(e.advance(1)), (std::vector<Out>{{1, 10, 20, 1, true, 1}}));
  // A frontier never moves back.
  e.assign_partition(0, 3);
  EXPECT_EQ(e.add(0, ev(2, 9)), EventOutcome::kLate);
}

TEST(EngineTest, NonFiniteValuesRejectedOnlyWhenValuesAreAggregated) {
  auto counting = Engine::create({tumbling(10)}).value();
  EXPECT_EQ(counting.add(0, ev(1, 1, std::nan(""))), EventOutcome::kAccepted);
  auto summing = Engine::create({tumbling(10, {AggregationSpec::sum("s")})}).value();
  EXPECT_EQ(summing.add(0, ev(1, 1, std::numeric_limits<double>::infinity())), EventOutcome::kRejected);
  EXPECT_EQ(summing.stats(0).rejected_events, 1U);
}

TEST(EngineTest, QuietKeysCloseWhenAllPartitionsIdle) {
  auto spec = tumbling(60'000);
  spec.idle_timeout = Millis(30'000);
  spec.out_of_orderness = Millis(5'000);
  auto e = Engine::create({spec}).value();
  e.assign_partition(0);
  const std::int64_t t0 = 28'333'334LL * 60'000;  // a minute boundary in 2023
  e.advance(t0);
  e.add(0, ev(42, t0 + 1'000));  // one report, then silence
  EXPECT_TRUE(e.advance(t0 + 20'000).empty());
  EXPECT_TRUE(e.advance(t0 + 40'000).empty());  // idle, but now - ooo < window end
  const auto rs = collect(e.advance(t0 + 65'000));
  EXPECT_EQ(rs, (std::vector<Out>{{42, t0, t0 + 60'000, 1, true, 1}}));
  EXPECT_EQ(e.watermark(0), t0 + 60'000);
}

// Regression: an engine restored from a checkpoint and fed the records
// written while no one read its partition closed every open window at its
// first advance (the gap counted as an idle partition), and every record
// after that was late.
TEST(EngineTest, RestoredEngineThatForgetsProcessingTimeKeepsItsWindowsOpen) {
  auto spec = tumbling(60'000);
  spec.idle_timeout = Millis(10'000);
  spec.out_of_orderness = Millis(5'000);
  const std::int64_t t0 = 28'333'334LL * 60'000;  // event time: a minute boundary in 2023
  const std::int64_t now = t0 + 3 * 86'400'000LL;  // processing time: days later (replayed history)
  auto first = Engine::create({spec}).value();
  first.assign_partition(0);
  first.advance(now);
  first.add(0, ev(42, t0 + 1'000));
  EXPECT_TRUE(first.advance(now + 100).empty());
  const auto checkpoint = first.snapshot();

  for (const bool forget : {false, true}) {
    auto e = Engine::create({spec}).value();
    ASSERT_TRUE(e.restore(checkpoint).ok());
    if (forget) e.forget_processing_time();
    e.add(0, ev(42, t0 + 2'000));  // written during the 20 s the partition had no owner
    const auto rs = collect(e.advance(now + 20'000));
    if (!forget) {  // the old behaviour: closed early, and the next record is late
      EXPECT_EQ(rs, (std::vector<Out>{{42, t0, t0 + 60'000, 1, true, 2}}));
      EXPECT_EQ(e.add(0, ev(42, t0 + 3'000)), EventOutcome::kLate);
      continue;
    }
    EXPECT_TRUE(rs.empty());
    EXPECT_EQ(e.watermark(0), t0 - 3'000);
    EXPECT_EQ(e.add(0, ev(42, t0 + 3'000)), EventOutcome::kAccepted);
    e.add(0, ev(42, t0 + 70'000));
    EXPECT_EQ(collect(e.advance(now + 20'100)), (std::vector<Out>{{42, t0, t0 + 60'000, 1, true, 3}}));
  }
}

TEST(EngineTest, HugeGapsAndEpochLimits) {
  auto spec = tumbling(1);
  spec.idle_timeout = Millis(1);
  auto e = Engine::create({spec}).value();
  e.advance(0);
  EXPECT_EQ(e.add(0, ev(1, kMinEventTimeMs)), EventOutcome::kAccepted);
  EXPECT_EQ(e.add(0, ev(1, kMinEventTimeMs - 1)), EventOutcome::kRejected);
  EXPECT_EQ(e.add(0, ev(2, kMaxEventTimeMs)), EventOutcome::kAccepted);
  EXPECT_EQ(e.add(0, ev(2, kMaxEventTimeMs + 1)), EventOutcome::kRejected);
  // The watermark jumps ~2^61 ms in one step; the engine must not walk the gap.
  EXPECT_EQ(collect(e.advance(1)), (std::vector<Out>{{1, kMinEventTimeMs, kMinEventTimeMs + 1, 1, true, 1}}));
  EXPECT_EQ(collect(e.advance(std::numeric_limits<std::int64_t>::max())),
            (std::vector<Out>{{2, kMaxEventTimeMs, kMaxEventTimeMs + 1, 1, true, 1}}));
  auto h = tumbling(1);
  h.window = WindowSpec::hopping(Millis(kMaxDurationMs), Millis(kMaxDurationMs / 4)).value();
  h.idle_timeout = Millis(1);
  auto big = Engine::create({h}).value();
  big.advance(0);
  big.add(0, ev(1, 5));
  big.add(0, ev(1, -5));
  EXPECT_EQ(big.query_open(0, 1).size(), 5U);
  EXPECT_EQ(big.advance(std::numeric_limits<std::int64_t>::max()).size(), 5U);
}

TEST(EngineTest, HoppingSharesPanes) {
  ViewSpec s = tumbling(1);
  s.window = WindowSpec::hopping(Millis(15), Millis(5)).value();
  auto e = Engine::create({s}).value();
  e.add(0, ev(1, 7));
  e.add(0, ev(1, 12));
  EXPECT_EQ(e.stats(0).open_windows, 4U);  // [-5,10) [0,15) [5,20) [10,25)
  const auto open = e.query_open(0, 1);
  ASSERT_EQ(open.size(), 4U);
  EXPECT_EQ(open[1].start_ms, 0);
  EXPECT_EQ(open[1].count, 2);
  e.add(0, ev(1, 30));
  EXPECT_EQ(collect(e.advance(0)), (std::vector<Out>{{1, -5, 10, 1, true, 1},
                                                      {1, 0, 15, 1, true, 2},
                                                      {1, 5, 20, 1, true, 2},
                                                      {1, 10, 25, 1, true, 1}}));
}

TEST(EngineTest, OnUpdateEmitsRateLimitedRevisionsThenFinal) {
  auto spec = tumbling(100);
  spec.emit = EmitPolicy{EmitMode::kBoth, Millis(10)};
  auto e = Engine::create({spec}).value();
  e.add(0, ev(1, 1));
  EXPECT_EQ(collect(e.advance(1000)), (std::vector<Out>{{1, 0, 100, 1, false, 1}}));
  e.add(0, ev(1, 2));
  EXPECT_TRUE(e.advance(1005).empty());  // rate-limited
  EXPECT_EQ(collect(e.advance(1010)), (std::vector<Out>{{1, 0, 100, 2, false, 2}}));
  EXPECT_TRUE(e.advance(1020).empty());  // nothing changed
  e.add(0, ev(1, 100));
  const auto rs = collect(e.advance(1030));
  EXPECT_EQ(rs, (std::vector<Out>{{1, 0, 100, 3, true, 2}, {1, 100, 200, 1, false, 1}}));
  const auto lf = e.last_final(0, 1);
  ASSERT_TRUE(lf.has_value());
  EXPECT_EQ(lf->count, 2);
  EXPECT_EQ(lf->revision, 3U);
  EXPECT_FALSE(e.last_final(0, 2).has_value());
}

// A replay reads an hour of events in an instant of processing time: the
// early results keep the cadence they had live (one per interval of event
// time), rather than one for the whole hour.
TEST(EngineTest, EarlyResultsOfAReplayAreSpacedByEventTime) {
  auto spec = tumbling(60'000);
  spec.emit = EmitPolicy{EmitMode::kOnUpdate, Millis(10'000)};
  spec.out_of_orderness = Millis(0);
  auto e = Engine::create({spec}).value();
  int early = 0;
  for (std::int64_t t = 0; t < 60'000; t += 1'000) {
    e.add(0, ev(1, t));
    for (const Out& o : collect(e.advance(5'000))) early += o.final ? 0 : 1;  // processing time stands still
  }
  EXPECT_EQ(early, 6);  // t = 0, 10 s, ..., 50 s; was 1 when the interval counted processing time only
  // Live, a quiet view still emits on processing time.
  e.add(0, ev(1, 59'500));
  EXPECT_TRUE(e.advance(5'001).empty());
  EXPECT_EQ(collect(e.advance(15'001)).size(), 1U);
}

TEST(EngineTest, OnUpdateOnlyFlushesChangesAtClose) {
  auto spec = tumbling(100);
  spec.emit = EmitPolicy{EmitMode::kOnUpdate, Millis(0)};
  auto e = Engine::create({spec}).value();
  e.add(0, ev(1, 1));
  e.add(0, ev(2, 1));
  EXPECT_EQ(e.advance(0).size(), 2U);
  e.add(0, ev(2, 2));
  e.add(0, ev(3, 150));  // closes [0,100): key 1 unchanged since its early result, key 2 changed
  const auto rs = collect(e.advance(1));
  EXPECT_EQ(rs, (std::vector<Out>{{2, 0, 100, 2, false, 2}, {3, 100, 200, 1, false, 1}}));
}

TEST(EngineTest, SessionsMergeWhenLateEventBridges) {
  ViewSpec s = tumbling(1);
  s.window = WindowSpec::session(Millis(10)).value();
  s.out_of_orderness = Millis(100);
  auto e = Engine::create({s}).value();
  e.add(0, ev(1, 0));
  e.add(0, ev(1, 15));
  EXPECT_EQ(e.query_open(0, 1).size(), 2U);
  e.add(0, ev(1, 8));  // bridges [0,10) and [15,25)
  const auto open = e.query_open(0, 1);
  ASSERT_EQ(open.size(), 1U);
  EXPECT_EQ(open[0].start_ms, 0);
  EXPECT_EQ(open[0].end_ms, 25);
  EXPECT_EQ(open[0].count, 3);
  e.add(0, ev(1, 200));
  EXPECT_EQ(collect(e.advance(0)), (std::vector<Out>{{1, 0, 25, 1, true, 3}}));
}

TEST(EngineTest, SlidingWindowsFollowKafkaStreams) {
  ViewSpec s = tumbling(1);
  s.window = WindowSpec::sliding(Millis(10)).value();
  auto e = Engine::create({s}).value();
  e.add(0, ev(1, 10));
  e.add(0, ev(1, 15));
  e.add(0, ev(1, 100));
  // [0,10] {10}; [5,15] {10,15}; right window of 10: [11,21] {15}; [90,100] {100}
  EXPECT_EQ(collect(e.advance(0)),
            (std::vector<Out>{{1, 0, 11, 1, true, 1}, {1, 5, 16, 1, true, 2}, {1, 11, 22, 1, true, 1}}));
}

TEST(EngineTest, SamplesAndCountWhereAndRatio) {
  ViewSpec s = tumbling(100, {AggregationSpec::count("total"), AggregationSpec::count_where("online", 0, 1)});
  s.sample_refs = 2;
  auto e = Engine::create({s}).value();
  for (int i = 0; i < 4; ++i) {
    Event x = ev(1, i);
    x.fields[0] = i % 2;
    x.record_ref = 100 + static_cast<std::uint64_t>(i);
    Placement placement;
    EXPECT_EQ(e.add(0, x, &placement), EventOutcome::kAccepted);
    EXPECT_EQ(placement.sampled, i < 2) << i;  // the caller keeps ids of these only
  }
  e.add(0, ev(2, 500));
  const auto rs = e.advance(0);
  ASSERT_EQ(rs.size(), 1U);
  EXPECT_EQ(rs[0].values[1] / rs[0].values[0], 0.5);
  EXPECT_EQ(std::vector<std::uint64_t>(rs[0].samples.begin(), rs[0].samples.end()),
            (std::vector<std::uint64_t>{100, 101}));
}

TEST(EngineTest, StatsReportOpenWindowsAndBytes) {
  auto e = Engine::create({tumbling(100)}).value();
  for (GroupKey k = 0; k < 1000; ++k) e.add(0, ev(k, 5));
  const auto st = e.stats(0);
  EXPECT_EQ(st.open_windows, 1000U);
  EXPECT_GT(st.state_bytes, 1000U * 16);
  EXPECT_LT(st.bytes_per_open_window(), 128.0);
  EXPECT_EQ(st.accepted_events, 1000U);
  EXPECT_EQ(e.open_keys(0).size(), 1000U);
}

TEST(EngineTest, DeterministicAcrossRuns) {
  ViewSpec s = tumbling(1);
  s.window = WindowSpec::hopping(Millis(20), Millis(5)).value();
  s.emit = EmitPolicy{EmitMode::kBoth, Millis(3)};
  auto run = [&] {
    auto e = Engine::create({s}).value();
    std::vector<Out> out;
    for (int i = 0; i < 500; ++i) {
      e.add(0, ev(static_cast<GroupKey>((i * 7) % 13), i / 3 + (i % 5 == 0 ? -7 : 0)));
      if (i % 9 == 0) {
        for (const auto& o : collect(e.advance(i))) out.push_back(o);
      }
    }
    return out;
  };
  EXPECT_EQ(run(), run());
}

}  // namespace
}  // namespace ioc::window
