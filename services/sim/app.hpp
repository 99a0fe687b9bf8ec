#pragma once
/// ioc-sim: a stand-in for a province's sources. Citizen reports go through
/// the intake's HTTP API (as a reporter's app would, honouring 503 +
/// Retry-After); public-service transactions, telemetry and air-quality
/// readings go straight to their Kafka topics, keyed by district. Rates are events per second.

#include <chrono>
#include <string>
#include <vector>

#include "generator.hpp"
#include "ioc/config/source.hpp"
#include "ioc/daemon/daemon.hpp"

namespace ioc::sim {

struct Config {
  daemon::CommonConfig common;
  std::string intake_host = "127.0.0.1";
  std::uint16_t intake_port = 8080;
  double reports_per_second = 2;
  double transactions_per_second = 20;
  double telemetry_per_second = 100;
  double air_quality_per_second = 2;
  GeneratorOptions generator;
  std::chrono::milliseconds duration{0};  // 0: until stopped
  /// `sim.scenario.*` (none when sim.scenario.kind is unset); placed on the
  /// clock when the simulator starts.
  std::vector<Scenario> scenarios;
};

Config load_config(config::Source& src);

/// Expands the command line's scenario shortcuts into settings:
/// `--scenario K --district D --start 30s --duration 5m --seed N` become
/// `--set sim.scenario.kind=K ...` and `--set sim.seed=N`; other arguments
/// are kept as they are.
std::vector<std::string> expand_shortcuts(const std::vector<std::string>& args);
int run(const Config& cfg);

}  // namespace ioc::sim
