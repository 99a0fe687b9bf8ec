#pragma once
/// Scenarios: what happens to the province while the simulator runs, on top
/// of its steady traffic. Each has a start (after the simulator starts) and a
/// duration, and is deterministic with the generator's seed:
///   flood          a surge of flood and landslide reports in one district,
///                  its water levels rising to a crest and falling back, and
///                  heavy rain there;
///   bts-outage     the BTS stations of one district stop their heartbeats;
///   portal-outage  online applications collapse (one district or, with no
///                  district, the whole province): the online rate drops;
///   late-data      one feed (telemetry or transactions) delivers records
///                  `delay` after they happened.
/// Pure values; thread-safe to share once built.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ioc/core/clock.hpp"
#include "ioc/core/registry.hpp"
#include "ioc/core/result.hpp"

namespace ioc::sim {

enum class ScenarioKind { kFlood, kBtsOutage, kPortalOutage, kLateData };
const char* to_string(ScenarioKind kind);
/// "flood" | "bts-outage" | "portal-outage" | "late-data".
Result<ScenarioKind> parse_scenario_kind(std::string_view text);

struct Scenario {
  ScenarioKind kind = ScenarioKind::kFlood;
  std::string district;                // flood, bts-outage: required; portal-outage: "" = whole province
  std::chrono::milliseconds start{0};  // after the simulator starts
  std::chrono::milliseconds duration{std::chrono::minutes(5)};
  /// flood: extra flood and landslide reports per second in the district.
  double reports_per_second = 1.0;
  /// late-data: how long after the event its record arrives.
  std::chrono::milliseconds delay{std::chrono::hours(3)};
  /// late-data: "telemetry" or "transactions".
  std::string feed = "telemetry";
};

/// Checks a scenario against the registry; the error names the setting and
/// what is allowed.
[[nodiscard]] Status validate(const Scenario& s, const Registry& registry);

/// One scenario of `sim.scenarios` (a list): "KIND:WHERE:START:DURATION",
/// WHERE being a district code (empty: the whole province, for a portal
/// outage) or, for late-data, the feed; e.g. "flood:386:2h15m:20m",
/// "portal-outage::2h30m:15m", "late-data:transactions:1h:10m". Not validated
/// against the registry (validate() does that).
Result<Scenario> parse_scenario_item(std::string_view text);

/// `--scenario demo`: a short scripted sequence for a first look, over in
/// under four minutes: a flood in the provincial city (380) from 0:20 to
/// 2:50, the BTS stations of Mường Lát (384) silent from 0:40 to 2:40, and
/// the online portal down province-wide from 1:00 to 3:00.
std::vector<Scenario> demo_sequence();

/// A scenario placed on the clock: active in [from, until).
class Timeline {
 public:
  Timeline() = default;
  Timeline(std::vector<Scenario> scenarios, TimePoint origin);

  /// The first scenario of `kind` active at `now` (and, when `district` is
  /// given, about that district or the whole province), or nullptr.
  const Scenario* active(ScenarioKind kind, TimePoint now, std::string_view district = {}) const;
  /// 0 → 1 → 0 over the scenario's window (its crest halfway), for `now` in it.
  double progress_peak(const Scenario& s, TimePoint now) const;
  /// Highest flood report rate of all flood scenarios (0 without any).
  double max_flood_rate() const;

 private:
  std::vector<Scenario> scenarios_;
  TimePoint origin_{};
};

}  // namespace ioc::sim
