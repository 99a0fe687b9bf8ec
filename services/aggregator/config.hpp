#pragma once
/// The aggregator's settings (`aggregator.*` plus the shared sections) and
/// its views (the file named by `aggregator.views`).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ioc/config/source.hpp"
#include "ioc/daemon/daemon.hpp"
#include "ioc/kafka/client_config.hpp"
#include "peers.hpp"
#include "record.hpp"

namespace ioc::aggregator {

struct Config {
  daemon::CommonConfig common;
  std::string views_file;
  std::vector<ViewConfig> views;
  std::string group_id = "ioc-aggregator";
  std::string output_topic = kafka::topics::kAggregates;
  std::string deadletter_topic = kafka::topics::kDeadLetter;
  std::string state_topic = kafka::topics::kAggregatorState;
  /// Records whose event time is further ahead of processing time are
  /// dead-lettered: one bad clock must not push a watermark into the future.
  std::chrono::milliseconds max_future_skew{300'000};
  /// A report whose id was counted within this much ingest time before is
  /// a duplicate (outcome "duplicate") and counts in no view. 0: off.
  std::chrono::milliseconds duplicates_window{std::chrono::hours(24)};
  std::size_t batch_size = 2000;
  /// How often window state is checkpointed (and offsets committed).
  std::chrono::milliseconds checkpoint_interval{5'000};
  /// How long reading the checkpoints of newly assigned partitions may take.
  std::chrono::milliseconds restore_timeout{60'000};
  /// 0 (the default): an output record waits for the broker however long it
  /// is away. Otherwise one not acknowledged within this is lost: the
  /// replica stops (exit 1) without checkpointing past it, and a restart
  /// recomputes it.
  std::chrono::milliseconds delivery_timeout{0};
  /// How often the consumer's statistics (connections, end offsets) are
  /// read for lag and readiness, and how long records may wait with no
  /// progress before /readyz turns unready.
  std::chrono::milliseconds stats_interval{1'000};
  std::chrono::milliseconds stall_timeout{30'000};
  /// Other replicas' HTTP base URLs: a view query answers for the whole
  /// group by asking them for the partitions they own.
  std::vector<Peer> peers;
  /// How long a view query waits for all peers together.
  std::chrono::milliseconds peer_timeout{2'000};
};

Config load_config(config::Source& src);

}  // namespace ioc::aggregator
