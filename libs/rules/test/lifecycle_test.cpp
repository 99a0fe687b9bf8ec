#include "ioc/rules/lifecycle.hpp"

#include <gtest/gtest.h>

namespace ioc::rules {
namespace {

using std::chrono::seconds;

TimePoint at(int s) { return from_epoch_ms(1'700'000'000'000 + s * 1000LL); }

TEST(LifecycleTest, FiresAtOnceWithoutFor) {
  Lifecycle lc;
  EXPECT_EQ(lc.step(Verdict::kClear, at(0), seconds(0), seconds(0)), Step::kNone);
  EXPECT_EQ(lc.step(Verdict::kFire, at(1), seconds(0), seconds(0)), Step::kFiring);
  EXPECT_EQ(lc.phase, Phase::kFiring);
  EXPECT_EQ(lc.active_at, at(1));
  EXPECT_EQ(lc.fired_at, at(1));
  EXPECT_EQ(lc.step(Verdict::kFire, at(2), seconds(0), seconds(0)), Step::kNone);
  EXPECT_EQ(lc.step(Verdict::kClear, at(3), seconds(0), seconds(0)), Step::kResolved);
  EXPECT_EQ(lc.phase, Phase::kInactive);
}

TEST(LifecycleTest, PendsForItsForDurationThenFires) {
  Lifecycle lc;
  EXPECT_EQ(lc.step(Verdict::kFire, at(0), seconds(60), seconds(0)), Step::kPending);
  EXPECT_EQ(lc.step(Verdict::kFire, at(30), seconds(60), seconds(0)), Step::kNone);
  EXPECT_EQ(lc.phase, Phase::kPending);
  EXPECT_EQ(lc.step(Verdict::kFire, at(60), seconds(60), seconds(0)), Step::kFiring);
  EXPECT_EQ(lc.active_at, at(0));
  EXPECT_EQ(lc.fired_at, at(60));
}

TEST(LifecycleTest, PendingEndsWithoutFiringOnClear) {
  Lifecycle lc;
  EXPECT_EQ(lc.step(Verdict::kFire, at(0), seconds(60), seconds(0)), Step::kPending);
  EXPECT_EQ(lc.step(Verdict::kClear, at(10), seconds(60), seconds(0)), Step::kCanceled);
  EXPECT_EQ(lc.phase, Phase::kInactive);
  // A new episode starts its own `for`.
  EXPECT_EQ(lc.step(Verdict::kFire, at(20), seconds(60), seconds(0)), Step::kPending);
  EXPECT_EQ(lc.step(Verdict::kFire, at(70), seconds(60), seconds(0)), Step::kNone);
  EXPECT_EQ(lc.step(Verdict::kFire, at(80), seconds(60), seconds(0)), Step::kFiring);
}

// Regression: a pending OnlineRateLow went back to inactive at every hour
// boundary (the new hour too young to judge), and near its threshold
// pending and inactive alternated 8 times in 17 minutes, each a published
// event. Hold and unknown keep it pending; only fire ends the wait.
TEST(LifecycleTest, HoldAndUnknownKeepAPendingAlertPending) {
  for (Verdict v : {Verdict::kHold, Verdict::kUnknown}) {
    Lifecycle lc;
    EXPECT_EQ(lc.step(Verdict::kFire, at(0), seconds(60), seconds(0)), Step::kPending);
    EXPECT_EQ(lc.step(v, at(10), seconds(60), seconds(0)), Step::kNone) << to_string(v);
    EXPECT_EQ(lc.step(v, at(70), seconds(60), seconds(0)), Step::kNone) << to_string(v);  // never fires on it
    EXPECT_EQ(lc.phase, Phase::kPending);
    EXPECT_EQ(lc.step(Verdict::kFire, at(71), seconds(60), seconds(0)), Step::kFiring);
    EXPECT_EQ(lc.active_at, at(0));
  }
}

TEST(LifecycleTest, KeepFiringForNeedsClearToHoldWithoutInterruption) {
  Lifecycle lc;
  lc.step(Verdict::kFire, at(0), seconds(0), seconds(60));
  EXPECT_EQ(lc.step(Verdict::kClear, at(10), seconds(0), seconds(60)), Step::kNone);
  EXPECT_EQ(lc.step(Verdict::kClear, at(50), seconds(0), seconds(60)), Step::kNone);
  // Back in the hysteresis band: the clear timer starts over.
  EXPECT_EQ(lc.step(Verdict::kHold, at(55), seconds(0), seconds(60)), Step::kNone);
  EXPECT_EQ(lc.step(Verdict::kClear, at(60), seconds(0), seconds(60)), Step::kNone);
  EXPECT_EQ(lc.step(Verdict::kClear, at(119), seconds(0), seconds(60)), Step::kNone);
  EXPECT_EQ(lc.step(Verdict::kClear, at(120), seconds(0), seconds(60)), Step::kResolved);
}

TEST(LifecycleTest, HoldAndUnknownKeepAFiringAlertFiring) {
  Lifecycle lc;
  lc.step(Verdict::kFire, at(0), seconds(0), seconds(0));
  for (int i = 1; i < 100; ++i) {
    EXPECT_EQ(lc.step(i % 2 ? Verdict::kHold : Verdict::kUnknown, at(i), seconds(0), seconds(0)), Step::kNone);
  }
  EXPECT_EQ(lc.phase, Phase::kFiring);
}

TEST(LifecycleTest, FlappingBetweenFireAndHoldNeverResolves) {
  Lifecycle lc;
  int transitions = 0;
  for (int i = 0; i < 200; ++i) {
    transitions += lc.step(i % 2 ? Verdict::kFire : Verdict::kHold, at(i), seconds(0), seconds(0)) != Step::kNone;
  }
  EXPECT_EQ(transitions, 1);  // the first firing only
}

TEST(LifecycleTest, TimeNeverRunsBackwards) {
  Lifecycle lc;
  lc.step(Verdict::kFire, at(100), seconds(30), seconds(0));
  // An evaluation stamped earlier than the episode's start counts as at its start.
  EXPECT_EQ(lc.step(Verdict::kFire, at(50), seconds(30), seconds(0)), Step::kNone);
  EXPECT_EQ(lc.step(Verdict::kFire, at(130), seconds(30), seconds(0)), Step::kFiring);
  EXPECT_EQ(lc.fired_at, at(130));
}

}  // namespace
}  // namespace ioc::rules
