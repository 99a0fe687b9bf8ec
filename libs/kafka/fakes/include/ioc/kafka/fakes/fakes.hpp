#pragma once
/// Test fakes for code that consumes kafka::RecordView and produces records:
/// an in-memory partitioned log that numbers offsets like a broker (with
/// gaps on demand, as retention leaves them), and an outbox that records what
/// would have been produced. No broker, no threads, no clock.
/// Not thread-safe; records returned by reference stay valid until the log
/// is destroyed (std::deque storage).

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ioc/kafka/record.hpp"

namespace ioc::kafka::fakes {

/// An input record owned in memory.
struct Record {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = -1;
  std::string key;
  std::string value;
  Headers headers;
  RecordView view() const;
};

/// Partitioned logs of any topics: append() gives each record the next
/// offset of its partition.
class Log {
 public:
  const Record& append(std::string_view topic, std::int32_t partition, std::string_view key, std::string_view value,
                       std::int64_t timestamp_ms, Headers headers = {});
  /// Leaves `n` offsets of the partition unused (records removed before they
  /// were read).
  void skip(std::string_view topic, std::int32_t partition, std::int64_t n);
  /// The next offset of the partition.
  std::int64_t end(std::string_view topic, std::int32_t partition) const;
  const std::deque<Record>& records() const { return records_; }

 private:
  std::map<std::pair<std::string, std::int32_t>, std::int64_t, std::less<>> next_;
  std::deque<Record> records_;
};

/// One record that would have been produced.
struct Produced {
  std::string topic;
  std::string key;
  std::string value;
  Headers headers;
  /// Value of the last header named `name`.
  std::optional<std::string_view> header(std::string_view name) const;
};

/// Records what a producer was asked to send, in order.
class Outbox {
 public:
  void produce(std::string_view topic, std::string_view key, std::string_view value, Headers headers = {});
  const std::vector<Produced>& all() const { return produced_; }
  /// The records produced to `topic`, in order.
  std::vector<Produced> on(std::string_view topic) const;
  void clear() { produced_.clear(); }

 private:
  std::vector<Produced> produced_;
};

}  // namespace ioc::kafka::fakes
