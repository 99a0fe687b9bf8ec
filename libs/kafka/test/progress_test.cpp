// ProgressWatch: readiness verdicts from fake statistics and a driven clock.
#include "ioc/kafka/progress.hpp"

#include <gtest/gtest.h>

namespace ioc::kafka {
namespace {

using namespace std::chrono_literals;
using TimePoint = ProgressWatch::TimePoint;

ConsumerStats stats(int up, std::vector<PartitionStats> partitions, int known = 3) {
  return {up, known, std::move(partitions)};
}

class ProgressWatchTest : public ::testing::Test {
 protected:
  TimePoint t0_ = TimePoint{} + 1000h;
  ProgressWatch watch_{"records", 30s};
};

TEST_F(ProgressWatchTest, LagIsLogEndMinusTheApplicationsPosition) {
  watch_.update(stats(1, {{"t", 0, 90, 100}, {"t", 1, 5, 7}, {"other", 0, 0, 50}}), {{"t", 0, 95}, {"t", 1, -1}},
                t0_);
  ASSERT_EQ(watch_.lags().size(), 2u);
  EXPECT_EQ(watch_.lags()[0].lag, 5);  // the application's position wins over the fetch offset
  EXPECT_EQ(watch_.lags()[0].position, 95);
  EXPECT_EQ(watch_.lags()[1].lag, 2);  // nothing read yet: the fetch offset counts
  EXPECT_EQ(watch_.lags()[1].position, 5);
  EXPECT_EQ(watch_.waiting(), 7);  // "other" is not watched
  EXPECT_TRUE(watch_.reachable());
  EXPECT_FALSE(watch_.caught_up());
  EXPECT_EQ(watch_.verdict(), "");
}

TEST_F(ProgressWatchTest, CaughtUpOnlyWhenEveryWatchedPartitionIsKnownAndLevel) {
  watch_.update(stats(1, {}), {{"t", 0, 10}}, t0_);
  EXPECT_FALSE(watch_.caught_up());  // nothing watched yet
  watch_.update(stats(1, {{"t", 0, 10, 10}, {"t", 1, -1, -1}}), {{"t", 0, 10}, {"t", 1, -1}}, t0_);
  EXPECT_FALSE(watch_.caught_up());  // partition 1's log end unknown
  watch_.update(stats(1, {{"t", 0, 10, 10}, {"t", 1, 4, 4}}), {{"t", 0, 10}, {"t", 1, -1}}, t0_);
  EXPECT_TRUE(watch_.caught_up());
  watch_.update(stats(1, {{"t", 0, 10, 12}, {"t", 1, 4, 4}}), {{"t", 0, 10}, {"t", 1, -1}}, t0_);
  EXPECT_FALSE(watch_.caught_up());
}

TEST_F(ProgressWatchTest, NoBrokerConnectionWins) {
  watch_.update(stats(0, {{"t", 0, 10, 20}}, 2), {{"t", 0, 10}}, t0_);
  EXPECT_FALSE(watch_.reachable());
  EXPECT_TRUE(watch_.lags().empty());  // stale log ends say nothing
  EXPECT_EQ(watch_.verdict(), "no broker connection (2 brokers known)");
  watch_.update(stats(1, {{"t", 0, 10, 20}}, 2), {{"t", 0, 10}}, t0_ + 1s);
  EXPECT_EQ(watch_.verdict(), "");
}

TEST_F(ProgressWatchTest, WaitingWithoutProgressIsAStallAfterTheTimeout) {
  const std::vector<TopicPartition> at10{{"t", 0, 10}};
  watch_.update(stats(1, {{"t", 0, 10, 130}}), at10, t0_);
  watch_.update(stats(1, {{"t", 0, 10, 130}}), at10, t0_ + 29s);
  EXPECT_EQ(watch_.verdict(), "");
  watch_.update(stats(1, {{"t", 0, 10, 130}}), at10, t0_ + 31s);
  EXPECT_EQ(watch_.verdict(), "not consuming: 120 records waiting and no progress for 31s");
  // Moving again clears it.
  watch_.update(stats(1, {{"t", 0, 11, 130}}), {{"t", 0, 11}}, t0_ + 32s);
  EXPECT_EQ(watch_.verdict(), "");
}

TEST_F(ProgressWatchTest, NothingWaitingIsNeverAStall) {
  for (int i = 0; i < 10; ++i) watch_.update(stats(1, {{"t", 0, 10, 10}}), {{"t", 0, 10}}, t0_ + i * 10s);
  EXPECT_EQ(watch_.verdict(), "");
}

TEST_F(ProgressWatchTest, NounNamesWhatWaits) {
  ProgressWatch results("results", 1s);
  results.update(stats(1, {{"t", 0, 0, 3}}), {{"t", 0, 0}}, t0_);
  results.update(stats(1, {{"t", 0, 0, 3}}), {{"t", 0, 0}}, t0_ + 2s);
  EXPECT_EQ(results.verdict(), "not consuming: 3 results waiting and no progress for 2s");
}

}  // namespace
}  // namespace ioc::kafka
