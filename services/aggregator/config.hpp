#pragma once
/// The aggregator's settings (`aggregator.*` plus the shared sections).

#include <chrono>
#include <cstdint>
#include <string>

#include "ioc/config/source.hpp"
#include "ioc/daemon/daemon.hpp"
#include "ioc/kafka/client_config.hpp"
#include "ioc/window/spec.hpp"

namespace ioc::aggregator {

struct Config {
  daemon::CommonConfig common;
  std::string group_id = "ioc-aggregator";
  std::string input_topic = kafka::topics::kReports;
  std::string output_topic = kafka::topics::kAggregates;
  std::string deadletter_topic = kafka::topics::kDeadLetter;
  std::string view_name = "reports_by_district_category";
  std::chrono::milliseconds window{60'000};
  std::chrono::milliseconds allowed_lateness{10'000};
  std::chrono::milliseconds out_of_orderness{5'000};
  std::chrono::milliseconds idle_timeout{10'000};
  /// Records whose event time is further ahead of processing time are
  /// dead-lettered: one bad clock must not push a watermark into the future.
  std::chrono::milliseconds max_future_skew{300'000};
  window::EmitMode emit = window::EmitMode::kFinalOnly;
  std::chrono::milliseconds update_interval{5'000};
  std::uint32_t sample_ids = 5;
  std::size_t batch_size = 2000;
  std::chrono::milliseconds commit_interval{2'000};
  /// An output record not acknowledged within this is lost: the replica
  /// stops (exit 1) without committing past it, and a restart recomputes it.
  std::chrono::milliseconds delivery_timeout{30'000};
  /// How often the consumer's statistics (connections, end offsets) are
  /// read for lag and readiness, and how long records may wait with no
  /// progress before /readyz turns unready.
  std::chrono::milliseconds stats_interval{1'000};
  std::chrono::milliseconds stall_timeout{30'000};
};

Config load_config(config::Source& src);

}  // namespace ioc::aggregator
