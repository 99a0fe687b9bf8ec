#include "kpi_standing.hpp"

namespace ioc::wall {

namespace json = boost::json;

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
