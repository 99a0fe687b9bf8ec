#include "ioc/core/kpi.hpp"

#include <gtest/gtest.h>

namespace ioc {
namespace {

const KpiTargets kTargets{0.80, 0.05};

TEST(KpiTest, OnlineMeetsAtOrAboveItsTargetOverdueAtOrBelow) {
  // count, online, completed, overdue
  Standing s = standing({100, 80, 95, 5}, kTargets);
  EXPECT_DOUBLE_EQ(*s.online_rate, 0.80);
  EXPECT_TRUE(*s.online_meets) << "the target itself meets it";
  EXPECT_DOUBLE_EQ(*s.overdue_ratio, 0.05);
  EXPECT_TRUE(*s.overdue_meets);
  s = standing({200, 104, 90, 10}, kTargets);
  EXPECT_DOUBLE_EQ(*s.online_rate, 0.52);
  EXPECT_FALSE(*s.online_meets);
  EXPECT_DOUBLE_EQ(*s.overdue_ratio, 0.10);
  EXPECT_FALSE(*s.overdue_meets);
}

TEST(KpiTest, NothingToDivideIsUnknownNotAMiss) {
  Standing s = standing({}, kTargets);
  EXPECT_FALSE(s.online_rate);
  EXPECT_FALSE(s.online_meets);
  EXPECT_FALSE(s.overdue_ratio);
  EXPECT_FALSE(s.overdue_meets);
  s = standing({12, 3, 0, 0}, kTargets);  // applications came in, none closed yet
  EXPECT_DOUBLE_EQ(*s.online_rate, 0.25);
  EXPECT_FALSE(s.overdue_ratio);
}

// A day is the sum of its windows, not the mean of their ratios: a quiet
// hour at 100 % online does not lift a busy one at 50 %.
TEST(KpiTest, TotalsAddUpBeforeTheRatios) {
  TransactionTotals day;
  day += {2, 2, 1, 0};
  day += {98, 49, 40, 10};
  const Standing s = standing(day, kTargets);
  EXPECT_DOUBLE_EQ(*s.online_rate, 0.51);
  EXPECT_DOUBLE_EQ(*s.overdue_ratio, 10.0 / 51.0);
}

}  // namespace
}  // namespace ioc
