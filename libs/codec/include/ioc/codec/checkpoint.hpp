#pragma once
/// The aggregator's checkpoint of one input partition and its wire form,
/// ioc.v1.AggregatorCheckpoint (proto/ioc/v1/aggregator_state.proto). What
/// it means and how it is stored is the aggregator's (checkpoint.hpp
/// there); this is only the conversion. Pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ioc/core/result.hpp"

namespace ioc {

struct AggregatorCheckpoint {
  struct Key {
    std::string view;
    std::uint64_t key = 0;
    std::vector<std::string> values;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct Sample {
    std::uint64_t ref = 0;
    std::int64_t time_ms = 0;  // SampleIds close time
    std::string id;
    friend bool operator==(const Sample&, const Sample&) = default;
  };
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t next_offset = 0;  // every record below it is in the state
  std::vector<std::uint8_t> engine;
  std::vector<Key> keys;
  std::vector<Sample> samples;
  std::int64_t created_ms = 0;
  std::vector<std::string> views;
  /// The record at next_offset - 1 (a hash of its key, size and
  /// timestamp), to tell the same log from a replaced one.
  std::int64_t last_record_ms = 0;
  std::uint64_t last_record_id = 0;
  /// Revision epoch of the state; 0 before epochs existed.
  std::uint32_t epoch = 0;
  /// Record ids counted within the duplicates window, oldest first, as
  /// two words each (high, low), and when each was received.
  std::vector<std::uint64_t> seen_ids;
  std::vector<std::int64_t> seen_received_ms;
  friend bool operator==(const AggregatorCheckpoint&, const AggregatorCheckpoint&) = default;
};

namespace codec {

void encode(const AggregatorCheckpoint& in, std::string& out);
/// kDataLoss when `bytes` are not an ioc.v1.AggregatorCheckpoint.
[[nodiscard]] Status decode(std::string_view bytes, AggregatorCheckpoint& out);

}  // namespace codec
}  // namespace ioc
