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
  /// `sim.history.*`: instead of running live, write `span` of the past
  /// (ending now) straight to the input topics, as fast as the broker takes
  /// it, then exit. Scenarios start relative to the history's start.
  struct {
    std::chrono::milliseconds span{0};  // 0: run live
    /// Pause while the consumer group `pace_group` has more than this many
    /// records unread on the input topics (0: never): the embedded broker
    /// keeps about 5 MB per partition, and a history that outruns the
    /// aggregator would be deleted before it is read.
    std::int64_t max_lag = 100'000;
    std::string pace_group = "ioc-aggregator";
  } history;
};

Config load_config(config::Source& src);

/// Expands the command line's scenario shortcuts into settings:
/// `--scenario K --district D --start 30s --duration 5m --seed N --history D`
/// become `--set sim.scenario.kind=K ...`, `--set sim.seed=N` and
/// `--set sim.history.span=D`; other arguments
/// are kept as they are.
std::vector<std::string> expand_shortcuts(const std::vector<std::string>& args);
int run(const Config& cfg);

}  // namespace ioc::sim
