#pragma once
/// The KPI targets of the transactions (config section `kpi:`), and a
/// district's standing against them — online share of applications at
/// least `online`, overdue share of closed applications at most `overdue` —
/// from the sums of one window's transactions. The wall shows the current
/// hour's standing, the alerter's summary a day's; both read the same
/// section, so they cannot disagree. A standing is a status shown beside the
/// numbers: below target is not an incident and raises no alert
/// (ARCHITECTURE.md, "Incidents alert; targets report").
///
/// Pure; thread-safe.

#include <optional>

namespace ioc {

struct KpiTargets {
  double online = 0.80;   // online applications / all applications, at least
  double overdue = 0.05;  // overdue / closed (completed + overdue) applications, at most
  friend bool operator==(const KpiTargets&, const KpiTargets&) = default;
};

/// Sums of the transactions view's values over a district's window(s).
struct TransactionTotals {
  double count = 0;
  double online = 0;
  double completed = 0;
  double overdue = 0;
  TransactionTotals& operator+=(const TransactionTotals& o) {
    count += o.count;
    online += o.online;
    completed += o.completed;
    overdue += o.overdue;
    return *this;
  }
  friend bool operator==(const TransactionTotals&, const TransactionTotals&) = default;
};

/// Each ratio and whether it meets its target; nullopt when there is nothing
/// to divide (no applications, none closed): unknown, neither met nor missed.
struct Standing {
  std::optional<double> online_rate;
  std::optional<bool> online_meets;
  std::optional<double> overdue_ratio;
  std::optional<bool> overdue_meets;
};

Standing standing(const TransactionTotals& totals, const KpiTargets& targets);

}  // namespace ioc
