#pragma once
/// Admin: cluster inspection (topics, log start/end offsets, consumer-group
/// committed offsets) and topic creation. Used by ioc-broker's retention
/// monitor, the services' start checks, ioc-topics and tests. Every call blocks for at most its timeout and does network
/// I/O. Not thread-safe: one owner thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ioc/core/result.hpp"
#include "ioc/kafka/client_config.hpp"
#include "ioc/kafka/consumer.hpp"
#include "ioc/kafka/topics.hpp"

struct rd_kafka_s;  // librdkafka's rd_kafka_t, opaque here

namespace ioc::kafka {

struct TopicInfo {
  std::string name;
  int partitions = 0;
};

struct Watermarks {
  std::int64_t log_start = -1;  // oldest offset still stored
  std::int64_t log_end = -1;    // offset the next record will get
};

class Admin {
 public:
  explicit Admin(const ClientConfig& cfg);
  ~Admin();
  Admin(const Admin&) = delete;
  Admin& operator=(const Admin&) = delete;

  [[nodiscard]] Result<std::vector<TopicInfo>> topics(std::chrono::milliseconds timeout);
  [[nodiscard]] Result<Watermarks> watermarks(const std::string& topic, std::int32_t partition,
                                              std::chrono::milliseconds timeout);
  /// Committed offsets of `group` for `partitions` (offset -1001 = none).
  [[nodiscard]] Result<std::vector<TopicPartition>> committed(const std::string& group,
                                                              const std::vector<TopicPartition>& partitions,
                                                              std::chrono::milliseconds timeout);
  /// Creates topics (CreateTopics, through the controller); one Status per
  /// topic, in order (ok also when it was created meanwhile by another).
  [[nodiscard]] Result<std::vector<Status>> create_topics(const std::vector<TopicSpec>& topics,
                                                          std::chrono::milliseconds timeout);
  /// The cluster's id, from fresh metadata. A changed id means another
  /// cluster: for the embedded broker, a restarted process (the mock derives
  /// its id from memory addresses, new in every process) that lost every topic.
  [[nodiscard]] Result<std::string> cluster_id(std::chrono::milliseconds timeout);
  /// Consumer groups known to the cluster (ListGroups), when supported.
  [[nodiscard]] Result<std::vector<std::string>> groups(std::chrono::milliseconds timeout);

 private:
  ::rd_kafka_s* group_handle(const std::string& group);

  ClientConfig cfg_;
  ::rd_kafka_s* rk_ = nullptr;
  std::map<std::string, ::rd_kafka_s*> group_handles_;
};

}  // namespace ioc::kafka
