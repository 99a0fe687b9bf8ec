#pragma once
/// Consumer: a consumer-group member that hands records over in batches.
///
/// Offsets are never committed automatically: the caller commits what it has
/// made durable (at-least-once, or exactly-once with checkpoints). Rebalances
/// are reported to a RebalanceListener inside poll(), on the caller's thread,
/// which may choose the start offset of each assigned partition.
///
/// Not thread-safe: one thread owns it (the service's poll thread). The
/// destructor leaves the group cleanly (close()).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ioc/core/result.hpp"
#include "ioc/kafka/client_config.hpp"
#include "ioc/kafka/message.hpp"

// librdkafka's handles (rd_kafka_t, rd_kafka_queue_t), opaque here.
struct rd_kafka_s;
struct rd_kafka_queue_s;

namespace ioc::kafka {

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  /// For assignment: where to start (kOffsetStored = committed offset, or
  /// the reset policy). For commits/positions: the next offset to read.
  std::int64_t offset = kOffsetStored;
  /// Commit metadata stored with a committed offset (e.g. a watermark).
  std::string metadata;

  static constexpr std::int64_t kOffsetStored = -1001;    // RD_KAFKA_OFFSET_INVALID
  static constexpr std::int64_t kOffsetBeginning = -2;    // RD_KAFKA_OFFSET_BEGINNING: the oldest record kept
  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
};

/// A consumer error event (e.g. an offset reset, a partition gone, all
/// brokers down): not a record. `partition` is -1 for client-wide errors.
struct ConsumerError {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string code;  // librdkafka's error name without the leading '_', e.g. "TRANSPORT"
  std::string detail;
};

/// What librdkafka's statistics say about one assigned partition.
struct PartitionStats {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t fetch_offset = -1;  // next offset the client will fetch (-1 unknown)
  std::int64_t high_watermark = -1;  // log end offset from the last fetch response (-1 unknown)
};

/// A statistics snapshot (every Options::stats_interval), from cached
/// client state: producing it never waits on the network.
struct ConsumerStats {
  int brokers_up = 0;     // cluster brokers with an open connection
  int brokers_known = 0;  // cluster brokers known from metadata
  std::vector<PartitionStats> partitions;
};

/// Parses librdkafka's statistics JSON (the fields above; others ignored).
Result<ConsumerStats> parse_consumer_stats(std::string_view json);

class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  /// Partitions now owned. Set `offset` of an entry to start elsewhere than
  /// the committed offset (e.g. the offset of a restored checkpoint).
  virtual void on_assigned(std::vector<TopicPartition>& partitions) = 0;
  /// Partitions about to be taken away: flush and commit what they produced.
  virtual void on_revoked(const std::vector<TopicPartition>& partitions) = 0;
  /// An error event met inside poll() (already logged).
  virtual void on_error(const ConsumerError& error) { (void)error; }
  /// A statistics snapshot, inside poll() (needs Options::stats_interval).
  virtual void on_stats(const ConsumerStats& stats) { (void)stats; }
};

class Consumer {
 public:
  struct Options {
    std::string group_id;
    std::string auto_offset_reset = "earliest";
    std::chrono::milliseconds session_timeout{10'000};
    std::chrono::milliseconds max_poll_interval{300'000};
    std::chrono::milliseconds stats_interval{0};  // 0: no on_stats()
    /// How long the broker may hold a fetch waiting for data. Kafka answers
    /// as soon as data arrives; the embedded broker (librdkafka's mock)
    /// always waits this long, so it bounds the delivery latency there.
    std::chrono::milliseconds fetch_wait_max{100};
  };

  /// Throws ioc::ConfigError when the client cannot be configured.
  Consumer(const ClientConfig& cfg, const Options& opts, RebalanceListener* listener = nullptr);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  /// Throws ioc::ConfigError when the subscription is rejected.
  void subscribe(const std::vector<std::string>& topics);

  /// Reads the given partitions from the given offsets without joining the
  /// group (no rebalances; offsets are not committed unless asked).
  void assign(const std::vector<TopicPartition>& partitions);

  /// Moves the read position of assigned partitions to their `offset` (or
  /// kOffsetBeginning): records fetched from the old positions and not yet
  /// returned by poll() are dropped. Blocks up to `timeout`; an error names
  /// the partitions that could not move (e.g. no longer assigned).
  Status seek(const std::vector<TopicPartition>& partitions,
              std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// Up to `max` records (error events are logged and passed to the
  /// listener's on_error(), EOF events dropped),
  /// waiting at most `timeout` for the first one. Serves rebalances.
  std::vector<Message> poll(std::size_t max, std::chrono::milliseconds timeout);

  /// Commits next-offsets (and metadata) for the given partitions, waiting
  /// at most `timeout` for the coordinator's answer (kDeadlineExceeded then).
  Status commit(const std::vector<TopicPartition>& offsets,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

  /// Per partition, the records the client knows of and poll() has not
  /// returned yet: the log end from the last fetch response minus the read
  /// position (control records, e.g. transaction markers, count as read).
  /// A partition's `offset` is where reading starts, for when poll() has
  /// returned nothing of it yet (negative: with auto.offset.reset=earliest,
  /// the log start the last fetch reported). -1 where the log end or the position is unknown (the
  /// partition not fetched yet). Never waits on the network.
  [[nodiscard]] std::vector<std::int64_t> unread(const std::vector<TopicPartition>& partitions);

  /// Committed offsets and metadata of the group for `partitions` (blocks
  /// up to `timeout`; offset kOffsetStored when the group has none).
  [[nodiscard]] Result<std::vector<TopicPartition>> committed(const std::vector<TopicPartition>& partitions,
                                                              std::chrono::milliseconds timeout);


  /// Leaves the group (revoking partitions through the listener), waiting
  /// at most `timeout` when the coordinator is unreachable. Records fetched
  /// but not yet returned by poll() are dropped (and were never committed).
  /// Idempotent.
  void close(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  /// The librdkafka handle, for tests that drive librdkafka directly.
  ::rd_kafka_s* handle() { return rk_; }

 private:
  /// Takes up to `max` messages from `q` (a consumer queue), serving the
  /// callbacks queued before them. Records go to `records`, or are dropped
  /// when it is null; error events are reported, EOF events dropped.
  /// Returns how many records were taken.
  std::size_t consume(::rd_kafka_queue_s* q, std::size_t max, std::chrono::milliseconds timeout,
                      std::vector<Message>* records);
  /// Logs an error event and passes it to the listener.
  void report(ConsumerError e);
  struct Callbacks;  // librdkafka's callbacks (error, stats, rebalance)
  friend struct Callbacks;

  ::rd_kafka_s* rk_ = nullptr;
  ::rd_kafka_queue_s* queue_ = nullptr;
  RebalanceListener* listener_ = nullptr;
  bool reset_to_start_ = true;  // auto.offset.reset=earliest
  bool closed_ = false;
};

}  // namespace ioc::kafka
