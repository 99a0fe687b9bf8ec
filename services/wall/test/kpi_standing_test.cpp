#include "kpi_standing.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace ioc::wall {
namespace {

namespace json = boost::json;

const KpiTargets kTargets{0.80, 0.05};

TEST(KpiStandingTest, JsonNamesValueTargetAndVerdict) {
  const json::object o = standing_json(standing({100, 90, 0, 0}, kTargets), kTargets);
  EXPECT_EQ(json::serialize(o),
            R"({"online_rate":{"value":9E-1,"target":8E-1,"meets":true},)"
            R"("overdue_ratio":{"value":null,"target":5E-2,"meets":null}})");
}

}  // namespace
}  // namespace ioc::wall
