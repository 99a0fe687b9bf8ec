#pragma once
/// Generator: plausible synthetic traffic for one province — citizen reports
/// (as intake JSON bodies), public-service transactions, infrastructure
/// telemetry and air-quality readings. Deterministic for a given seed and sequence of `now` values.
/// Not thread-safe: one per producing thread.

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ioc/core/clock.hpp"
#include "ioc/core/model.hpp"
#include "ioc/core/registry.hpp"
#include "scenario.hpp"

namespace ioc::sim {

struct GeneratorOptions {
  std::uint64_t seed = 1;
  /// Share of reports sent long after the event (1-3 min), as reporters on
  /// weak links do; exercises out-of-order handling and lateness.
  double delayed_report_fraction = 0.02;
  /// BTS stations in the province (Tuyen Quang has 1,283).
  int stations = 1283;
  /// Share of stations that never send a heartbeat (to be detected as silent).
  double silent_station_fraction = 0.01;
  /// What happens on top of the steady traffic (scenario.hpp).
  Timeline timeline;
};

/// The JSON body of POST /api/v1/reports for `r`.
std::string report_json(const Report& r);

class Generator {
 public:
  Generator(const Registry& registry, GeneratorOptions options);

  /// A report with occurred_at near `now`, as a reporter's app sends it
  /// (no id, no receipt time: the intake's business).
  Report next_report(TimePoint now);
  ServiceTransaction next_transaction(TimePoint now);
  /// The next heartbeat or sensor reading, round-robin over live stations
  /// (stations silenced by a bts-outage are skipped).
  Telemetry next_telemetry(TimePoint now);
  /// The next reading of a district's air-quality station, round-robin
  /// over the districts: PM2.5 and PM10 in µg/m³, and the AQI they give.
  AirQualityReading next_air_quality(TimePoint now);
  /// A flood or landslide report in the district of a flood active at
  /// `now`, or nullopt when none is.
  std::optional<Report> next_flood_report(TimePoint now);

  const std::vector<std::string>& silent_stations() const { return silent_; }

 private:
  struct Station {
    std::string id;
    std::string district;
    TelemetryKind kind;
  };

  const Registry& registry_;
  GeneratorOptions options_;
  std::mt19937_64 rng_;
  std::discrete_distribution<int> category_;
  std::discrete_distribution<int> district_;
  std::vector<double> online_rate_;  // per district
  std::vector<Station> stations_;
  std::vector<std::string> silent_;
  std::size_t next_station_ = 0;
  std::size_t next_air_station_ = 0;
  std::uint64_t sequence_ = 0;
};

}  // namespace ioc::sim
