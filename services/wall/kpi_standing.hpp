#pragma once
/// The wall's JSON of a district's standing against the KPI targets
/// (ioc/core/kpi.hpp: the targets, the sums, standing()).
///
/// Pure; thread-safe.

#include <boost/json/object.hpp>

#include "ioc/core/kpi.hpp"

namespace ioc::wall {

using ioc::KpiTargets;
using ioc::Standing;
using ioc::TransactionTotals;
using ioc::standing;

/// {"online_rate": {"value", "target", "meets"}, "overdue_ratio": {...}},
/// null for what is unknown.
boost::json::object standing_json(const Standing& s, const KpiTargets& targets);

}  // namespace ioc::wall
