#include "ioc/window/spec.hpp"

#include <gtest/gtest.h>

namespace ioc::window {
namespace {

ViewSpec valid() {
  ViewSpec s;
  s.name = "reports_15m";
  s.window = WindowSpec::hopping(Millis(900'000), Millis(60'000)).value();
  s.aggregations = {AggregationSpec::count("n"), AggregationSpec::quantile("latency", {0.5, 0.95, 0.999})};
  return s;
}

TEST(WindowSpecTest, FactoriesRejectNonPositiveSizesNamingTheField) {
  auto t = WindowSpec::tumbling(Millis(-5));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(t.error().message, "window.size must be > 0, got -5ms");
  EXPECT_FALSE(WindowSpec::tumbling(Millis(0)).ok());
  EXPECT_EQ(WindowSpec::session(Millis(0)).error().message, "window.gap must be > 0, got 0ms");
  EXPECT_EQ(WindowSpec::sliding(Millis(-1)).error().message, "window.size must be > 0, got -1ms");
  EXPECT_EQ(WindowSpec::hopping(Millis(10), Millis(0)).error().message, "window.advance must be > 0, got 0ms");
  EXPECT_EQ(WindowSpec::hopping(Millis(10), Millis(20)).error().message,
            "window.advance must be <= window.size (10ms), got 20ms");
  EXPECT_FALSE(WindowSpec::tumbling(Millis(kMaxDurationMs + 1)).ok());
  EXPECT_TRUE(WindowSpec::tumbling(Millis(kMaxDurationMs)).ok());
  EXPECT_TRUE(WindowSpec::hopping(Millis(10), Millis(10)).ok());
}

TEST(WindowSpecTest, ValidateNamesViewAndField) {
  EXPECT_TRUE(validate(valid()).ok());
  auto s = valid();
  s.window.size = Millis(-5);
  EXPECT_EQ(validate(s).error().message, "view \"reports_15m\": window.size must be > 0, got -5ms");
  s = valid();
  s.allowed_lateness = Millis(-1);
  EXPECT_EQ(validate(s).error().message, "view \"reports_15m\": allowed_lateness must be >= 0, got -1ms");
  s = valid();
  s.aggregations.clear();
  EXPECT_FALSE(validate(s).ok());
  s = valid();
  s.aggregations.push_back(AggregationSpec::count("n"));
  EXPECT_NE(validate(s).error().message.find("used twice"), std::string::npos);
  s = valid();
  s.aggregations.push_back(AggregationSpec::count_where("online", 7, 1));
  EXPECT_NE(validate(s).error().message.find("aggregations[2].field must be in [0, 3], got 7"), std::string::npos);
  s = valid();
  s.aggregations[1].quantiles = {1.5};
  EXPECT_NE(validate(s).error().message.find("quantiles must be in [0, 1]"), std::string::npos);
  s = valid();
  s.name.clear();
  EXPECT_EQ(validate(s).error().message, "view.name must not be empty");
  s = valid();
  s.sample_refs = 17;
  EXPECT_FALSE(validate(s).ok());
  s = valid();
  s.hll_precision = 3;
  EXPECT_FALSE(validate(s).ok());
  s = valid();
  s.window = WindowSpec{WindowKind::kHopping, Millis(1'000'003), Millis(2), Millis(0)};
  EXPECT_NE(validate(s).error().message.find("<= 10000"), std::string::npos);
}

TEST(WindowSpecTest, ValueNamesExpandQuantiles) {
  EXPECT_EQ(value_names(valid()), (std::vector<std::string>{"n", "latency_p50", "latency_p95", "latency_p99.9"}));
}

}  // namespace
}  // namespace ioc::window
