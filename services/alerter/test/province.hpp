#pragma once
// The views and the province the alerter's pipeline and backtest tests run on.

#include "ioc/core/registry.hpp"

namespace ioc::alerter::test {

/// One view: reports per district and category, a minute at a time.
inline constexpr const char* kReportsViews = R"y(
views:
  reports_1m:
    source: reports
    group_by: [district, category]
    window: {tumbling: 1m}
    aggregations: [count]
)y";

/// One district (380) and one category (flood).
inline Registry one_district() {
  return Registry({{"380", "Thành phố Thanh Hóa", "thanh-hoa"}}, {{"flood", "Ngập lụt", "naturalDisaster", "flood", ""}});
}

}  // namespace ioc::alerter::test
