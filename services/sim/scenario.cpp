#include "scenario.hpp"

#include <algorithm>

#include "ioc/config/source.hpp"

namespace ioc::sim {

const char* to_string(ScenarioKind kind) {
  switch (kind) {
    case ScenarioKind::kFlood:
      return "flood";
    case ScenarioKind::kBtsOutage:
      return "bts-outage";
    case ScenarioKind::kPortalOutage:
      return "portal-outage";
    case ScenarioKind::kLateData:
      return "late-data";
  }
  return "flood";
}

Result<ScenarioKind> parse_scenario_kind(std::string_view text) {
  for (ScenarioKind k :
       {ScenarioKind::kFlood, ScenarioKind::kBtsOutage, ScenarioKind::kPortalOutage, ScenarioKind::kLateData}) {
    if (text == to_string(k)) return k;
  }
  return invalid_argument("unknown scenario '" + std::string(text) +
                          "'; allowed: flood, bts-outage, portal-outage, late-data");
}

Status validate(const Scenario& s, const Registry& registry) {
  const bool needs_district = s.kind == ScenarioKind::kFlood || s.kind == ScenarioKind::kBtsOutage;
  if (needs_district && s.district.empty()) {
    return invalid_argument(std::string("sim.scenario.district: a ") + to_string(s.kind) +
                            " scenario needs a district code (--district)");
  }
  if (!s.district.empty() && !registry.district_index(s.district)) {
    return invalid_argument("sim.scenario.district: unknown district code '" + s.district + "'");
  }
  if (s.start.count() < 0) return invalid_argument("sim.scenario.start: must not be negative");
  if (s.duration.count() <= 0) return invalid_argument("sim.scenario.duration: must be positive");
  if (s.kind == ScenarioKind::kFlood && !(s.reports_per_second > 0)) {
    return invalid_argument("sim.scenario.reports_per_second: must be positive for a flood");
  }
  if (s.kind == ScenarioKind::kLateData) {
    if (s.feed != "telemetry" && s.feed != "transactions") {
      return invalid_argument("sim.scenario.feed: must be telemetry or transactions, got '" + s.feed + "'");
    }
    if (s.delay.count() <= 0) return invalid_argument("sim.scenario.delay: must be positive");
  }
  return {};
}

Result<Scenario> parse_scenario_item(std::string_view text) {
  std::vector<std::string_view> parts;
  for (std::size_t i = 0;;) {
    const std::size_t j = text.find(':', i);
    parts.push_back(text.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  const std::string shown = "sim.scenarios: '" + std::string(text) + "'";
  if (parts.size() != 4) {
    return invalid_argument(shown + " must be KIND:WHERE:START:DURATION, e.g. flood:386:2h15m:20m");
  }
  auto kind = parse_scenario_kind(parts[0]);
  if (!kind.ok()) return invalid_argument(shown + ": " + kind.error().message);
  Scenario s;
  s.kind = *kind;
  (s.kind == ScenarioKind::kLateData ? s.feed : s.district) = std::string(parts[1]);
  const auto start = config::Source::parse_duration(parts[2]);
  const auto duration = config::Source::parse_duration(parts[3]);
  if (!start || !duration) return invalid_argument(shown + ": START and DURATION must be durations like 30s, 5m or 2h15m");
  s.start = *start;
  s.duration = *duration;
  return s;
}

std::vector<Scenario> demo_sequence() {
  using std::chrono::seconds;
  return {
      {.kind = ScenarioKind::kFlood, .district = "380", .start = seconds(20), .duration = seconds(150),
       .reports_per_second = 2},
      {.kind = ScenarioKind::kBtsOutage, .district = "384", .start = seconds(40), .duration = seconds(120)},
      {.kind = ScenarioKind::kPortalOutage, .start = seconds(60), .duration = seconds(120)},
  };
}

Timeline::Timeline(std::vector<Scenario> scenarios, TimePoint origin)
    : scenarios_(std::move(scenarios)), origin_(origin) {}

const Scenario* Timeline::active(ScenarioKind kind, TimePoint now, std::string_view district) const {
  for (const Scenario& s : scenarios_) {
    if (s.kind != kind) continue;
    const TimePoint from = origin_ + s.start;
    if (now < from || now >= from + s.duration) continue;
    if (!district.empty() && !s.district.empty() && s.district != district) continue;
    return &s;
  }
  return nullptr;
}

double Timeline::progress_peak(const Scenario& s, TimePoint now) const {
  const double t = std::chrono::duration<double>(now - (origin_ + s.start)).count() /
                   std::chrono::duration<double>(s.duration).count();
  return std::clamp(1.0 - std::abs(2.0 * t - 1.0), 0.0, 1.0);
}

double Timeline::max_flood_rate() const {
  double r = 0;
  for (const Scenario& s : scenarios_) {
    if (s.kind == ScenarioKind::kFlood) r = std::max(r, s.reports_per_second);
  }
  return r;
}

}  // namespace ioc::sim
