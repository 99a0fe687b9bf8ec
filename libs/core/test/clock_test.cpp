#include "ioc/core/clock.hpp"
#include "ioc/core/model.hpp"

#include <gtest/gtest.h>

namespace ioc {
namespace {

TEST(ManualClockTest, MovesOnlyWhenTold) {
  ManualClock clock(from_epoch_ms(1000));
  EXPECT_EQ(to_epoch_ms(clock.now()), 1000);
  clock.advance(Millis(250));
  EXPECT_EQ(to_epoch_ms(clock.now()), 1250);
  clock.set(from_epoch_ms(5));
  EXPECT_EQ(to_epoch_ms(clock.now()), 5);
}

TEST(ManualClockTest, AdvanceMovesBothReadingsAndSetOnlyTheWallClock) {
  ManualClock clock(from_epoch_ms(1000));
  const MonotonicTime start = clock.monotonic();
  EXPECT_GT(start, MonotonicTime{});
  clock.advance(Millis(250));
  EXPECT_EQ(clock.monotonic() - start, Millis(250));
  clock.set(from_epoch_ms(0));  // the wall clock set back
  EXPECT_EQ(clock.monotonic() - start, Millis(250));
  clock.advance(Millis(100));
  EXPECT_EQ(to_epoch_ms(clock.now()), 100);
  EXPECT_EQ(clock.monotonic() - start, Millis(350));
}

TEST(SystemClockTest, MonotonicNeverGoesBack) {
  const Clock& clock = SystemClock::instance();
  const MonotonicTime a = clock.monotonic();
  EXPECT_LE(a, clock.monotonic());
}

TEST(ModelTest, WindowResultKeyJoinsViewGroupAndStart) {
  WindowResult r;
  r.view = "reports";
  r.group = {{"district", "380"}, {"category", "flood"}};
  r.window_start = from_epoch_ms(1719822600000);
  EXPECT_EQ(window_result_key(r), "reports|380/flood|1719822600000");
}

}  // namespace
}  // namespace ioc
