#pragma once
/// ioc-aggregator: counts citizen reports per district × category in
/// event-time tumbling windows and publishes each window's result to
/// ioc.aggregates.v1 and as Prometheus gauges.
///
/// One window engine per assigned input partition: topics are keyed by
/// district, so a partition's windows never need another partition's
/// records, and a partition's state moves (or is dropped) with the partition
/// on rebalance. Offsets are committed only up to the oldest record still
/// feeding an open window, with the watermark and the position read as
/// commit metadata (CommitMark), so a restarted replica recomputes open
/// windows completely, does not count records of already-published windows
/// twice, and still dead-letters new records that are late.
///
/// Nothing is set aside silently: every record ends in a window, or in the
/// dead-letter topic with its reason (late, invalid, beyond the time bound),
/// or is counted as replayed (read again after a restart, already handled)
/// or pruned (removed by retention before it was read; counted and logged).

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "config.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/core/registry.hpp"
#include "ioc/kafka/consumer.hpp"
#include "ioc/kafka/producer.hpp"
#include "ioc/metrics/endpoints.hpp"
#include "ioc/window/engine.hpp"
#include "offset_tracker.hpp"
#include "sample_ids.hpp"

namespace prometheus {
class Registry;
class Counter;
}  // namespace prometheus

namespace ioc::aggregator {

struct Metrics;

/// The aggregation pipeline of one replica. run() is the poll loop and owns
/// all engines; readiness() and the metrics are safe from other threads.
/// Ready means: has partitions, has a broker connection, and is not stalled
/// with records waiting.
class Aggregator : public kafka::RebalanceListener {
 public:
  Aggregator(const Config& cfg, const Registry& registry, const Clock& clock, prometheus::Registry& metrics);
  ~Aggregator() override;

  /// Polls, aggregates and publishes until `stop` is set; then commits what
  /// is safe and leaves the group. Returns false when an output record
  /// (result or dead letter) could not be delivered: nothing is committed
  /// past it, and the process should exit so that a restart recomputes the
  /// lost outputs from the last committed offsets.
  [[nodiscard]] bool run(const std::atomic<bool>& stop);
  metrics::Readiness readiness() const;

  void on_assigned(std::vector<kafka::TopicPartition>& partitions) override;
  void on_revoked(const std::vector<kafka::TopicPartition>& partitions) override;
  void on_error(const kafka::ConsumerError& error) override;
  void on_stats(const kafka::ConsumerStats& stats) override;

 private:
  struct PartitionState;

  void handle(const kafka::Message& m);
  /// Dead-letters `m` with `reason` and counts it, unless it is a record
  /// read a second time after a restart (`replay`): that one was handled.
  void set_aside(const kafka::Message& m, bool replay, prometheus::Counter& counter, const std::string& reason);
  /// Counts a record read a second time after a restart, already handled then.
  void skip_replayed(const kafka::Message& m);
  void publish(PartitionState& ps, std::int32_t partition, std::span<const window::WindowResult> results);
  void dead_letter(const kafka::Message& m, const std::string& reason);
  void commit(const std::vector<std::int32_t>& partitions);
  std::int64_t window_end(std::int64_t t) const;
  /// {view, district, category} of an interned group key.
  prometheus::Labels group_labels(window::GroupKey key) const;
  void update_gauges();
  /// Counts new producer delivery failures; true once any output was lost.
  bool count_delivery_failures();
  /// Lag, reachability and readiness from a statistics snapshot, applied
  /// after the records polled before it were handled.
  void apply_stats(const kafka::ConsumerStats& stats);

  const Config& cfg_;
  const Registry& registry_;
  const Clock& clock_;
  window::ViewSpec spec_;
  std::unique_ptr<Metrics> metrics_;
  kafka::Producer producer_;
  kafka::Consumer consumer_;
  std::map<std::int32_t, std::unique_ptr<PartitionState>> partitions_;
  OffsetTracker tracker_;
  std::int64_t now_ms_ = 0;  // processing time of the current batch
  std::atomic<std::size_t> assigned_count_{0};
  std::uint64_t delivery_failures_seen_ = 0;  // producer failures already counted
  bool outputs_lost_ = false;
  std::string scratch_;

  std::optional<kafka::ConsumerStats> pending_stats_;
  std::set<std::int32_t> lag_exported_;  // partitions with a lag gauge
  std::int64_t last_read_ = -1;
  bool broker_reachable_ = true;  // per the last statistics
  std::chrono::steady_clock::time_point last_progress_ = std::chrono::steady_clock::now();
  mutable std::mutex ready_mu_;
  std::string not_ready_;  // from the last statistics, empty when fine
};

}  // namespace ioc::aggregator
