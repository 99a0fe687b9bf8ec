#pragma once
/// ConsumerHealth: the health plumbing every consuming service shares. It
/// takes the consumer's error events and statistics snapshots, keeps the
/// consumer's ProgressWatch, exports the per-partition lag and the broker's
/// reachability as Prometheus gauges (the service's own families, so every
/// service keeps its metric names), asks the ClusterWatch whether the broker
/// became another cluster, and answers the service's readiness: not ready
/// while nothing is assigned, or with the progress verdict (or a reason the
/// service sets itself).
///
/// on_error(), on_stats() and apply() run on the poll thread (the consumer
/// calls the listener inside poll()); not_ready() and set_assigned() are
/// thread-safe. Time is passed in, never read here.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ioc/core/clock.hpp"
#include "ioc/kafka/cluster_watch.hpp"
#include "ioc/kafka/consumer.hpp"
#include "ioc/kafka/progress.hpp"

namespace prometheus {
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace ioc::kafka {

/// A service's consumer metric families.
struct ConsumerMetrics {
  prometheus::Family<prometheus::Gauge>& lag;  // labels topic, partition
  prometheus::Gauge& broker_reachable;
  prometheus::Family<prometheus::Counter>& errors;  // label error
};

class ConsumerHealth {
 public:
  /// `noun` and `stall_timeout` as ProgressWatch's; `unassigned` is the
  /// readiness reason while no partition is assigned; `cluster` (may be
  /// null) is asked at every snapshot whether the broker is another cluster
  /// and must outlive this object.
  ConsumerHealth(std::string noun, std::chrono::milliseconds stall_timeout, std::string unassigned,
                 ConsumerMetrics metrics, ClusterWatch* cluster);

  /// RebalanceListener::on_error: counted by error name.
  void on_error(const ConsumerError& error);
  /// RebalanceListener::on_stats: kept for apply() (after the batch is handled).
  void on_stats(const ConsumerStats& stats) { pending_ = stats; }
  /// True when a snapshot waits for apply().
  [[nodiscard]] bool has_stats() const { return pending_.has_value(); }

  /// Applies the waiting snapshot (if any), taken against the application's
  /// `positions` (see ProgressWatch::update) at `now`: lag gauges (those of
  /// partitions no longer known removed), reachability, and the readiness
  /// verdict. The broker's cluster change, when the ClusterWatch saw one.
  [[nodiscard]] std::optional<ClusterChange> apply(const std::vector<TopicPartition>& positions, MonotonicTime now);

  /// Removes a partition's lag gauge (a partition revoked).
  void forget(const std::string& topic, std::int32_t partition);

  [[nodiscard]] const ProgressWatch& progress() const { return progress_; }
  [[nodiscard]] bool reachable() const { return progress_.reachable(); }

  /// Partitions the service reads (0: not ready, with the `unassigned` reason).
  void set_assigned(std::size_t partitions) { assigned_.store(partitions); }
  [[nodiscard]] std::size_t assigned() const { return assigned_.load(); }
  /// Replaces the verdict until the next apply() (e.g. a reason of the
  /// service's own when the consumer is fine); empty: ready.
  void set_not_ready(std::string why);
  /// Empty when ready, else why not. Thread-safe.
  [[nodiscard]] std::string not_ready() const;

 private:
  std::string unassigned_;
  ConsumerMetrics metrics_;
  ClusterWatch* cluster_;
  ProgressWatch progress_;
  std::optional<ConsumerStats> pending_;
  std::map<std::pair<std::string, std::int32_t>, prometheus::Gauge*> lag_exported_;
  std::atomic<std::size_t> assigned_{0};
  mutable std::mutex mu_;
  std::string not_ready_;
};

}  // namespace ioc::kafka
