#pragma once
/// EmbeddedBroker: librdkafka's mock cluster, which speaks the real Kafka
/// protocol from memory. It is the default broker of demos and tests; in
/// production only bootstrap.servers changes.
///
/// Known limits (librdkafka 2.0): no disk, about 5 MB kept per partition
/// (older batches pruned silently, the log start offset moves up), no
/// CreateTopics (topics are created here, at start), no log compaction,
/// aborted transactional records visible to read_committed consumers.
///
/// Thread-safe after construction (the mock runs its own I/O thread).

#include <librdkafka/rdkafka.h>

#include <string>
#include <vector>

struct rd_kafka_mock_cluster_s;  // from <librdkafka/rdkafka_mock.h>

namespace ioc::kafka {

struct TopicSpec {
  std::string name;
  int partitions = 1;
};

class EmbeddedBroker {
 public:
  /// Starts `brokers` mock brokers and creates `topics`. Throws
  /// std::runtime_error when the mock cannot start or a topic is rejected.
  EmbeddedBroker(int brokers, const std::vector<TopicSpec>& topics);
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  /// The mock's own listener addresses ("127.0.0.1:<port>,..."); ports are
  /// chosen by the mock at start.
  std::string bootstrap_servers() const;

 private:
  rd_kafka_t* rk_ = nullptr;
  ::rd_kafka_mock_cluster_s* cluster_ = nullptr;
};

}  // namespace ioc::kafka
