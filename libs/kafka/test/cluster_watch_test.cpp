// ClusterWatch: when the cluster id is asked for, and what counts as a
// change, with scripted answers and a driven clock (no broker).
#include "ioc/kafka/cluster_watch.hpp"

#include <gtest/gtest.h>


namespace ioc::kafka {
namespace {

using namespace std::chrono_literals;
using TimePoint = ClusterWatch::TimePoint;

class ClusterWatchTest : public ::testing::Test {
 protected:
  /// Answers `id_` (or an error when empty) and counts the questions.
  ClusterWatch watch_{[this]() -> Result<std::string> {
    ++asked_;
    if (id_.empty()) return Error{ErrorCode::kUnavailable, "no metadata"};
    return id_;
  }};
  std::string id_ = "A";
  int asked_ = 0;
  TimePoint t0_ = TimePoint{} + 1000h;
};

TEST_F(ClusterWatchTest, FirstAnswerIsLearntNotAChange) {
  EXPECT_EQ(watch_.id(), "");
  EXPECT_FALSE(watch_.observe(true, t0_));
  EXPECT_EQ(asked_, 1);
  EXPECT_EQ(watch_.id(), "A");
}

TEST_F(ClusterWatchTest, AsksEveryIntervalWhileReachable) {
  (void)watch_.observe(true, t0_);
  (void)watch_.observe(true, t0_ + 10s);
  (void)watch_.observe(true, t0_ + 29s);
  EXPECT_EQ(asked_, 1);
  (void)watch_.observe(true, t0_ + 30s);
  EXPECT_EQ(asked_, 2);
  id_ = "B";
  EXPECT_FALSE(watch_.observe(true, t0_ + 45s));  // not due yet
  const auto change = watch_.observe(true, t0_ + 60s);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->old_id, "A");
  EXPECT_EQ(change->new_id, "B");
  EXPECT_EQ(watch_.id(), "B");
  EXPECT_FALSE(watch_.observe(true, t0_ + 90s));  // reported once
}

TEST_F(ClusterWatchTest, AsksAtOnceWhenTheBrokerIsBack) {
  (void)watch_.observe(true, t0_);
  EXPECT_FALSE(watch_.observe(false, t0_ + 1s));
  EXPECT_FALSE(watch_.observe(false, t0_ + 40s));  // never asks while unreachable
  EXPECT_EQ(asked_, 1);
  id_ = "B";
  const auto change = watch_.observe(true, t0_ + 41s);
  EXPECT_EQ(asked_, 2);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->new_id, "B");
  // Back again soon after: asked again, same cluster.
  EXPECT_FALSE(watch_.observe(false, t0_ + 42s));
  EXPECT_FALSE(watch_.observe(true, t0_ + 43s));
  EXPECT_EQ(asked_, 3);
}

TEST_F(ClusterWatchTest, FailedQuestionChangesNothingAndIsNotRepeatedAtOnce) {
  id_ = "";
  EXPECT_FALSE(watch_.observe(true, t0_));
  EXPECT_FALSE(watch_.observe(true, t0_ + 1s));
  EXPECT_EQ(asked_, 1);  // a failing question may block: once per interval
  id_ = "A";
  EXPECT_FALSE(watch_.observe(true, t0_ + 30s));
  EXPECT_EQ(watch_.id(), "A");
  id_ = "";
  EXPECT_FALSE(watch_.check(t0_ + 31s));
  EXPECT_EQ(watch_.id(), "A");
}

TEST_F(ClusterWatchTest, CheckAsksOnDemand) {
  EXPECT_FALSE(watch_.check(t0_));
  id_ = "B";
  const auto change = watch_.check(t0_ + 1s);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->old_id, "A");
  EXPECT_EQ(asked_, 2);
  EXPECT_FALSE(watch_.observe(true, t0_ + 2s));  // the check counts as the periodic question
  EXPECT_EQ(asked_, 2);
}

}  // namespace
}  // namespace ioc::kafka
