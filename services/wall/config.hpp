#pragma once
/// The wall's settings (`wall.*` plus the shared sections).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ioc/config/source.hpp"
#include "ioc/daemon/daemon.hpp"
#include "ioc/kafka/client_config.hpp"
#include "sse_hub.hpp"
#include "wall_state.hpp"

namespace ioc::wall {

struct Config {
  daemon::CommonConfig common;
  WallOptions wall;
  SseOptions sse;
  /// The aggregator's views (wall.views_file, else aggregator.views): the
  /// values the wall shows are checked against it at start.
  std::string views_file;
  /// The rule files whose inhibitions fold the alerts (wall.rules, else
  /// alerter.rules).
  std::vector<std::string> rule_files;
  std::string title = "IOC operations wall";
  std::string aggregates_topic = kafka::topics::kAggregates;
  std::string alerts_topic = kafka::topics::kAlerts;
  std::string reports_topic = kafka::topics::kReports;
  /// At start: aggregates and reports older than this (by record
  /// timestamp) are skipped; alerts are read whole (an alert may fire for
  /// days). The wall is ready once it has read every topic up to the end
  /// offsets it found at start.
  std::chrono::milliseconds restore_window{std::chrono::hours(6)};
  /// At start: the reports read back, per partition (the latest ones).
  std::int64_t restore_reports_per_partition = 2000;
  /// How often changes are looked for and pushed to the page.
  std::chrono::milliseconds publish_interval{250};
};

Config load_config(config::Source& src);

}  // namespace ioc::wall
