#pragma once
/// Admin: cluster inspection (topics, log start/end offsets, consumer-group
/// committed offsets, configs) and topic creation. Used by ioc-broker's retention
/// monitor, the services' start checks, ioc-topics and tests. Every call blocks for at most its timeout and does network
/// I/O. Not thread-safe: one owner thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ioc/core/result.hpp"
#include "ioc/kafka/client_config.hpp"
#include "ioc/kafka/consumer.hpp"
#include "ioc/kafka/topics.hpp"

struct rd_kafka_s;  // librdkafka's rd_kafka_t, opaque here

namespace ioc::kafka {

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

  /// The topics of the cluster, as the broker asked shows them.
  [[nodiscard]] Result<std::vector<TopicInfo>> topics(std::chrono::milliseconds timeout);
  /// The topics as each broker of the cluster shows them: each broker is
  /// asked through a connection of its own, for at most `timeout` each. A
  /// broker that does not answer is listed with answered = false.
  [[nodiscard]] Result<std::vector<BrokerTopics>> topics_by_broker(std::chrono::milliseconds timeout);
  [[nodiscard]] Result<Watermarks> watermarks(const std::string& topic, std::int32_t partition,
                                              std::chrono::milliseconds timeout);
  /// Committed offsets of `group` for `partitions` (offset -1001 = none).
  [[nodiscard]] Result<std::vector<TopicPartition>> committed(const std::string& group,
                                                              const std::vector<TopicPartition>& partitions,
                                                              std::chrono::milliseconds timeout);
  /// Creates topics (CreateTopics, through the controller, which waits up
  /// to `timeout` for their leaders); one answer per topic, in order.
  [[nodiscard]] Result<std::vector<TopicCreation>> create_topics(const std::vector<TopicSpec>& topics,
                                                                 std::chrono::milliseconds timeout);
  /// Configs of `topics` (DescribeConfigs): topic -> name -> value. A topic
  /// the cluster could not describe is absent; nullopt when the cluster
  /// does not support DescribeConfigs (the embedded broker).
  using Configs = std::map<std::string, std::map<std::string, std::string>>;
  [[nodiscard]] Result<std::optional<Configs>> topic_configs(const std::vector<std::string>& topics,
                                                             std::chrono::milliseconds timeout);
  /// The settings of a broker of the cluster (DescribeConfigs of the first
  /// broker the metadata lists), e.g. "default.replication.factor"; nullopt
  /// when the cluster does not support DescribeConfigs. Asked of the broker
  /// itself, it answers quickly where a topic's configs (asked of the
  /// controller) would wait out the timeout on a cluster without one.
  [[nodiscard]] Result<std::optional<std::map<std::string, std::string>>> broker_configs(
      std::chrono::milliseconds timeout);
  /// The cluster's id, from fresh metadata. A changed id means another
  /// cluster: for the embedded broker, a restarted process (the mock derives
  /// its id from memory addresses, new in every process) that lost every topic.
  [[nodiscard]] Result<std::string> cluster_id(std::chrono::milliseconds timeout);
  /// Consumer groups known to the cluster (ListGroups), when supported.
  [[nodiscard]] Result<std::vector<std::string>> groups(std::chrono::milliseconds timeout);

 private:
  ::rd_kafka_s* group_handle(const std::string& group);
  ::rd_kafka_s* broker_handle(std::int32_t id, const std::string& address);

  ClientConfig cfg_;
  ::rd_kafka_s* rk_ = nullptr;
  std::map<std::string, ::rd_kafka_s*> group_handles_;
  std::map<std::pair<std::int32_t, std::string>, ::rd_kafka_s*> broker_handles_;
};

}  // namespace ioc::kafka
