#pragma once
/// ProgressWatch: a consumer's readiness verdict, judged from librdkafka's
/// statistics (ConsumerStats) and the application's own read positions.
///
/// Fed every statistics snapshot, it tells whether the broker is reachable,
/// how far behind each partition is (log end - next offset to read), and
/// whether the consumer still makes progress: records waiting while the
/// summed positions stay put for `stall_timeout` is a stall. Its verdict is
/// empty when all is well, else a sentence for /readyz:
///   "no broker connection (3 brokers known)"
///   "not consuming: 120 records waiting and no progress for 31s"
///
/// Time is passed in (a steady clock's time point), never read here. Pure
/// computation, no I/O. Not thread-safe: owned by the poll thread; services
/// copy verdict() under their own lock.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ioc/kafka/consumer.hpp"

namespace ioc::kafka {

/// One partition whose lag is known in the last snapshot.
struct PartitionLag {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t position = -1;  // next offset to read: the application's, else the client's fetch offset
  std::int64_t lag = 0;        // records between position and the log end (>= 0)
};

class ProgressWatch {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  /// `noun` names what the input holds in the stall verdict ("records",
  /// "results"); `stall_timeout` is how long records may wait without any
  /// progress before the consumer counts as stalled.
  ProgressWatch(std::string noun, std::chrono::milliseconds stall_timeout);

  /// Takes a statistics snapshot taken at `now`. `positions` are the
  /// partitions the application reads, with the next offset it will read
  /// (an offset below 0: not known, the client's fetch offset counts);
  /// partitions of `stats` not among them are ignored.
  void update(const ConsumerStats& stats, const std::vector<TopicPartition>& positions, TimePoint now);

  /// At least one cluster broker has an open connection (true before the
  /// first snapshot).
  [[nodiscard]] bool reachable() const { return reachable_; }
  /// Partitions whose lag is known (broker reachable, log end and position
  /// known), in the order of the statistics.
  [[nodiscard]] const std::vector<PartitionLag>& lags() const { return lags_; }
  /// Records waiting over all partitions of lags().
  [[nodiscard]] std::int64_t waiting() const { return waiting_; }
  /// Every watched partition's lag is known and none is behind (false when
  /// no partition was watched).
  [[nodiscard]] bool caught_up() const { return all_known_ && waiting_ == 0; }
  /// Empty when ready, else why not (see above).
  [[nodiscard]] const std::string& verdict() const { return verdict_; }

 private:
  std::string noun_;
  std::chrono::milliseconds stall_timeout_;
  bool reachable_ = true;
  bool all_known_ = false;
  std::vector<PartitionLag> lags_;
  std::int64_t waiting_ = 0;
  std::int64_t last_read_ = -1;  // summed positions of the previous snapshot
  TimePoint last_progress_{};
  std::string verdict_;
};

}  // namespace ioc::kafka
