#pragma once
/// Checkpoints: the one recovery model of the aggregator.
///
/// The window state of one input partition (all views over it), the group
/// labels and evidence ids it refers to, and the input offset it includes
/// records up to are written together to `ioc.aggregator.state.v1` (key
/// "<consumer group>/<topic>/<partition>", large checkpoints in chunks). Outputs produced
/// from that state are flushed before the checkpoint is written, so after
/// any crash a replica restores the latest complete checkpoint, seeks the
/// input to its offset, and recomputes exactly what followed: results are
/// keyed upserts with revisions, so a replay rewrites the same values.
/// Windows of any length and kind survive, however short the input's
/// retention (the embedded broker keeps about 5 MB per partition).
///
/// On a compacted topic (real Kafka) only the latest checkpoint per unit is
/// kept; on the embedded broker, retention drops old ones. Not thread-safe.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ioc/codec/checkpoint.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/core/result.hpp"
#include "ioc/kafka/admin.hpp"
#include "ioc/kafka/consumer.hpp"
#include "ioc/kafka/producer.hpp"

namespace ioc::aggregator {

/// One input partition's window state and the offset it includes records
/// up to; encoded by ioc::codec.
using Checkpoint = AggregatorCheckpoint;

/// What identifies a record in its log besides its offset: a hash of its
/// key, size and timestamp (cheap enough for every record).
std::uint64_t record_identity(std::string_view key, std::size_t value_size, std::int64_t timestamp_ms);

std::string encode_checkpoint(const Checkpoint& c);
[[nodiscard]] Result<Checkpoint> decode_checkpoint(std::string_view bytes);

/// "<topic>/<partition>": a unit (one input partition).
std::string unit_key(std::string_view topic, std::int32_t partition);

/// Reassembles checkpoints from the records of a state partition, read in
/// order: the latest complete one per unit wins; a checkpoint cut short
/// (the writer crashed between chunks) is ignored.
class CheckpointAssembler {
 public:
  /// `chunk` is the ioc-checkpoint header ("<seq>:<i>:<n>"); a record
  /// without one is ignored (returns false), as is a malformed header.
  bool add(std::string_view key, std::string_view chunk, std::string_view value);
  /// Unit key → encoded checkpoint.
  std::map<std::string, std::string> take();

 private:
  struct Pending {
    std::string seq;
    std::uint32_t next = 0;
    std::uint32_t total = 0;
    std::string bytes;
  };
  std::map<std::string, Pending> pending_;
  std::map<std::string, std::string> complete_;
};

class CheckpointStore {
 public:
  static constexpr const char* kChunkHeader = "ioc-checkpoint";
  static constexpr std::size_t kChunkBytes = 512 * 1024;

  /// The clients are the caller's, long-lived: librdkafka 2.0 may hang
  /// destroying a client after broker outages, so none is made per call.
  /// `reader` is a consumer that never joins its group (assign only).
  /// Checkpoints are the consumer group's (record key "<group>/<unit>"):
  /// groups with other views share the state topic without meeting.
  /// `clock` times reads out.
  CheckpointStore(std::string group, std::string topic, kafka::Producer& producer, kafka::Admin& admin,
                  kafka::Consumer& reader, const Clock& clock);

  /// The state partition a unit's checkpoints go to (partitions of the
  /// state topic are read from the cluster the first time).
  [[nodiscard]] Result<std::int32_t> partition_for(std::string_view unit);

  /// Queues the checkpoint's chunks; the caller flushes the producer.
  [[nodiscard]] Status write(const Checkpoint& c);

  /// The latest complete checkpoint of each of `units`, read from their
  /// state partitions (each read once, from its start to its end).
  [[nodiscard]] Result<std::map<std::string, Checkpoint>> read(const std::vector<std::string>& units,
                                                               std::chrono::milliseconds timeout);

  /// Bytes written so far (checkpoint payloads).
  std::uint64_t bytes_written() const { return bytes_written_; }

 private:
  std::string record_key(std::string_view unit) const { return group_ + "/" + std::string(unit); }

  std::string group_;
  std::string topic_;
  kafka::Producer& producer_;
  kafka::Admin& admin_;
  kafka::Consumer& reader_;
  const Clock& clock_;
  std::int32_t partitions_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t bytes_written_ = 0;
};

}  // namespace ioc::aggregator
