#include "kpi_standing.hpp"

namespace ioc::wall {

namespace json = boost::json;

Standing standing(const TransactionTotals& t, const KpiTargets& targets) {
  Standing s;
  if (t.count > 0) {
    s.online_rate = t.online / t.count;
    s.online_meets = *s.online_rate >= targets.online;
  }
  if (const double closed = t.completed + t.overdue; closed > 0) {
    s.overdue_ratio = t.overdue / closed;
    s.overdue_meets = *s.overdue_ratio <= targets.overdue;
  }
  return s;
}

json::object standing_json(const Standing& s, const KpiTargets& targets) {
  auto kpi = [](const std::optional<double>& value, double target, const std::optional<bool>& meets) {
    return json::object{{"value", value ? json::value(*value) : json::value(nullptr)},
                        {"target", target},
                        {"meets", meets ? json::value(*meets) : json::value(nullptr)}};
  };
  return json::object{{"online_rate", kpi(s.online_rate, targets.online, s.online_meets)},
                      {"overdue_ratio", kpi(s.overdue_ratio, targets.overdue, s.overdue_meets)}};
}

}  // namespace ioc::wall
