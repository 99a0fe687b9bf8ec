#include "ioc/window/watermark.hpp"

#include <gtest/gtest.h>

namespace ioc::window {
namespace {

TEST(WatermarkTest, MinOverPartitionsMinusOutOfOrderness) {
  WatermarkTracker w(100, 10'000);
  w.assign(0);
  w.assign(1);
  w.advance(0);
  w.observe(0, 5'000);
  EXPECT_EQ(w.advance(1), kNoWatermark);  // partition 1 has delivered nothing yet and is not idle
  w.observe(1, 3'000);
  EXPECT_EQ(w.advance(2), 2'900);
  w.observe(1, 9'000);
  EXPECT_EQ(w.advance(3), 4'900);
}

TEST(WatermarkTest, IdlePartitionStopsHoldingBack) {
  WatermarkTracker w(0, 1'000);
  w.assign(0);
  w.assign(1);
  w.advance(0);
  w.observe(0, 10'000);
  w.observe(1, 2'000);
  EXPECT_EQ(w.advance(10), 2'000);
  for (int t = 100; t <= 1'100; t += 100) {  // partition 1 stays silent
    w.advance(t);
    w.observe(0, 10'000 + t);
  }
  w.advance(1'100);
  EXPECT_EQ(w.watermark(), 11'100);
  EXPECT_EQ(w.active_partitions(), 1U);
}

TEST(WatermarkTest, AllIdleFollowsProcessingTime) {
  WatermarkTracker w(500, 1'000);
  w.advance(100'000);
  w.observe(0, 50'000);
  EXPECT_EQ(w.advance(100'500), 49'500);
  EXPECT_EQ(w.advance(101'000), 100'500);  // quiet for idle_timeout: now - out_of_orderness
  EXPECT_EQ(w.advance(200'000), 199'500);
  EXPECT_EQ(w.advance(150'000), 199'500);  // processing time never goes back, nor does the watermark
}

TEST(WatermarkTest, NoPartitionsAdvancesAfterIdleTimeout) {
  WatermarkTracker w(0, 1'000);
  EXPECT_EQ(w.advance(5'000), kNoWatermark);
  EXPECT_EQ(w.advance(6'000), 6'000);
}

TEST(WatermarkTest, IdlenessDisabledNeverFollowsProcessingTime) {
  WatermarkTracker w(0, 0);
  w.assign(0);
  w.assign(1);
  w.advance(0);
  w.observe(0, 1'000);
  w.observe(1, 500);
  EXPECT_EQ(w.advance(1'000'000), 500);
}

TEST(WatermarkTest, RevokedPartitionNoLongerHoldsBack) {
  WatermarkTracker w(0, 60'000);
  w.advance(0);
  w.observe(0, 1'000);
  w.observe(1, 9'000);
  EXPECT_EQ(w.advance(1), 1'000);
  w.revoke(0);
  EXPECT_EQ(w.advance(2), 9'000);
}

TEST(WatermarkTest, EventsBeforeFirstAdvanceAreNotIdle) {
  WatermarkTracker w(0, 1'000);
  w.observe(0, 100);
  EXPECT_EQ(w.advance(1'700'000'000'000), 100);  // replaying old data: not idle at the first call
}

// Regression: a tracker restored from another process's state kept that
// process's processing time, so the time no one read the partition (a crash,
// a rebalance) counted as its silence and the first advance jumped to
// processing time, closing every window.
TEST(WatermarkTest, ForgottenProcessingTimeIsNotSilence) {
  WatermarkTracker old(1'000, 10'000);
  old.advance(100'000);
  old.observe(0, 50'000);
  EXPECT_EQ(old.advance(100'100), 49'000);

  WatermarkTracker stale(1'000, 10'000);
  stale.set_state(old.state());
  stale.observe(0, 60'000);
  EXPECT_EQ(stale.advance(160'100), 159'100);  // a minute later: taken for a minute of silence

  WatermarkTracker restored(1'000, 10'000);
  restored.set_state(old.state());
  restored.forget_now();
  restored.observe(0, 60'000);  // read while catching up
  EXPECT_EQ(restored.advance(160'100), 59'000);
  EXPECT_EQ(restored.advance(170'000), 59'000);   // heard from at 160'100
  EXPECT_EQ(restored.advance(170'100), 169'100);  // then quiet for idle_timeout
}

// Whether a record is late depends on the records before it, not on when
// advance() ran: a replay in one batch judges as a live run in many did.
TEST(WatermarkTest, EventTimeMovesTheWatermarkWithoutAdvance) {
  WatermarkTracker w(100, 1'000);
  w.assign(0);
  w.advance(0);
  EXPECT_EQ(w.observe(0, 5'000), 4'900);
  EXPECT_EQ(w.watermark(), 4'900);
  EXPECT_EQ(w.observe(0, 3'000), 4'900);  // behind: judged against the records before it
  w.assign(1);
  EXPECT_EQ(w.observe(0, 6'000), 4'900);  // partition 1 holds it back: nothing heard from it yet
  EXPECT_EQ(w.observe(1, 5'500), 5'400);
}

}  // namespace
}  // namespace ioc::window
