#include "kpi_standing.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace ioc::wall {
namespace {

namespace json = boost::json;

const KpiTargets kTargets{0.80, 0.05};

TEST(KpiStandingTest, OnlineMeetsAtOrAboveItsTargetOverdueAtOrBelow) {
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

TEST(KpiStandingTest, NothingToDivideIsUnknownNotAMiss) {
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
TEST(KpiStandingTest, TotalsAddUpBeforeTheRatios) {
  TransactionTotals day;
  day += {2, 2, 1, 0};
  day += {98, 49, 40, 10};
  const Standing s = standing(day, kTargets);
  EXPECT_DOUBLE_EQ(*s.online_rate, 0.51);
  EXPECT_DOUBLE_EQ(*s.overdue_ratio, 10.0 / 51.0);
}

TEST(KpiStandingTest, JsonNamesValueTargetAndVerdict) {
  const json::object o = standing_json(standing({100, 90, 0, 0}, kTargets), kTargets);
  EXPECT_EQ(json::serialize(o),
            R"({"online_rate":{"value":9E-1,"target":8E-1,"meets":true},)"
            R"("overdue_ratio":{"value":null,"target":5E-2,"meets":null}})");
}

}  // namespace
}  // namespace ioc::wall
