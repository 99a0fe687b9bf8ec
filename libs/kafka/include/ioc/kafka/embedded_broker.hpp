#pragma once
/// EmbeddedBroker: librdkafka's mock cluster, which speaks the real Kafka
/// protocol from memory. It is the default broker of demos and tests; in
/// production only bootstrap.servers changes.
///
/// Stable addresses: a mock broker advertises the address it listens on, and
/// the mock normally picks a free port. Clients that learned such a port keep
/// dialing it after the broker process restarts on another one (librdkafka
/// 2.0 does not go back to its bootstrap list), so a restarted ioc-broker
/// would strand them. With `listen` set, mock broker i (1-based) listens on,
/// and advertises, `listen.host:listen.port + i - 1`: the bootstrap address
/// is a real broker address and stays valid across restarts.
///
/// Known limits (librdkafka 2.0): no disk, about 5 MB kept per partition
/// (older batches pruned silently, the log start offset moves up), no
/// CreateTopics (topics are created here, at start; replication and topic
/// configs are ignored), no log compaction,
/// aborted transactional records visible to read_committed consumers.
///
/// Thread-safe after construction (the mock runs its own I/O thread).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ioc/kafka/topics.hpp"

struct rd_kafka_s;                // librdkafka's rd_kafka_t, opaque here
struct rd_kafka_mock_cluster_s;  // from <librdkafka/rdkafka_mock.h>

namespace ioc::kafka {

/// Where the mock brokers listen (see EmbeddedBroker).
struct BrokerListen {
  std::string host = "127.0.0.1";  // an IPv4 address
  std::uint16_t port = 0;          // first broker's port; 0: the mock picks free ports
};

class EmbeddedBroker {
 public:
  /// Starts `brokers` mock brokers and creates `topics`. Throws
  /// std::runtime_error when the mock cannot start (e.g. a port is taken)
  /// or a topic is rejected.
  EmbeddedBroker(int brokers, const std::vector<TopicSpec>& topics, const BrokerListen& listen = {});
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  /// The brokers' addresses ("127.0.0.1:<port>,..."), as advertised.
  std::string bootstrap_servers() const;

  /// Fault injection for tests: the next `n` Produce requests, from any
  /// client, are refused with a permanent error (message too
  /// large), so their records fail delivery.
  void refuse_produce_requests(std::size_t n);

  /// Fault injection for tests: the next `n` ListOffsets requests (log
  /// start and end queries) are answered "not leader for partition", as
  /// while a partition's leadership moves.
  void refuse_offset_requests(std::size_t n);

  /// Delays every answer of broker `id` (1-based) by `rtt`, as a busy
  /// broker does: one holding produce requests until a failed replica
  /// leaves the in-sync set answers nothing else on that connection
  /// meanwhile. 0 ends it. For tests.
  void set_rtt(int id, std::chrono::milliseconds rtt);

 private:
  ::rd_kafka_s* rk_ = nullptr;
  ::rd_kafka_mock_cluster_s* cluster_ = nullptr;
};

}  // namespace ioc::kafka
