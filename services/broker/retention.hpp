#pragma once
/// Retention watch for the embedded broker: the mock keeps about 5 MB per
/// partition and prunes older batches silently. A consumer group whose
/// committed offset is below a partition's log start has lost the records in
/// between; this makes that loss visible (log + metrics) instead of silent.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "ioc/kafka/admin.hpp"

namespace ioc::broker {

/// One partition as seen by one pass of the watch.
struct PartitionOffsets {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t log_start = -1;
  std::int64_t log_end = -1;
  /// group → committed next offset (absent: the group has none here).
  std::map<std::string, std::int64_t> committed;
};

/// Records a group can no longer read because they were pruned.
struct Loss {
  std::string group;
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t committed = 0;
  std::int64_t log_start = 0;
  std::int64_t records() const { return log_start - committed; }
};

/// Pure: every (group, partition) whose committed offset is below the log start.
std::vector<Loss> find_losses(const std::vector<PartitionOffsets>& partitions);

/// Publishes offsets and losses as metrics and logs each new loss once (per
/// group, partition and committed offset). Not thread-safe: one owner thread.
class RetentionWatch {
 public:
  explicit RetentionWatch(prometheus::Registry& registry);
  /// Updates gauges from one pass; returns the losses first seen in it.
  std::vector<Loss> observe(const std::vector<PartitionOffsets>& partitions);

 private:
  prometheus::Family<prometheus::Gauge>& log_start_;
  prometheus::Family<prometheus::Gauge>& log_end_;
  prometheus::Family<prometheus::Gauge>& committed_;
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Gauge>& behind_start_;
  prometheus::Family<prometheus::Counter>& loss_events_;
  std::map<std::tuple<std::string, std::string, std::int32_t>, std::int64_t> reported_;
};

/// Reads offsets of every partition of `topics` and the committed offsets of
/// `groups` through the Kafka protocol (blocking, bounded by `timeout` per call).
std::vector<PartitionOffsets> read_offsets(kafka::Admin& admin, const std::vector<kafka::TopicInfo>& topics,
                                           const std::vector<std::string>& groups, std::chrono::milliseconds timeout);

}  // namespace ioc::broker
