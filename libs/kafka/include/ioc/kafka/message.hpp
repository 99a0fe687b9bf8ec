#pragma once
/// Message: one consumed Kafka record, owning its librdkafka buffer (freed on
/// destruction, no copy). Move-only. Not thread-safe; hand it over by move.
/// A Message must be destroyed before the Consumer it came from (librdkafka
/// blocks the consumer's destruction until its messages are released).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ioc/kafka/record.hpp"

struct rd_kafka_message_s;  // librdkafka's rd_kafka_message_t

namespace ioc::kafka {

class Message {
 public:
  /// Takes ownership of a message from librdkafka.
  explicit Message(::rd_kafka_message_s* m);

  /// 0 for a record; otherwise the librdkafka error code of a consumer
  /// event (partition EOF, error) carried in-band.
  int error() const { return error_; }
  std::string error_string() const;

  std::string_view topic() const { return topic_; }
  std::int32_t partition() const { return partition_; }
  std::int64_t offset() const { return offset_; }
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }
  /// Record timestamp (ms since epoch), or -1 when absent.
  std::int64_t timestamp_ms() const;
  /// The record as plain values (headers not read: see RecordView).
  RecordView view() const;
  /// Value of the last header named `name`, if present.
  std::optional<std::string_view> header(const char* name) const;
  /// All headers as owned pairs (for forwarding to the dead-letter topic:
  /// kafka::dead_letter_headers() reads them through view()).
  Headers headers() const;

 private:
  struct Destroy {
    void operator()(::rd_kafka_message_s* m) const;
  };
  // The views point into librdkafka's buffers, owned by m_ (stable across moves).
  std::unique_ptr<::rd_kafka_message_s, Destroy> m_;
  std::string_view topic_;
  std::string_view key_;
  std::string_view value_;
  std::int64_t offset_ = -1;
  std::int32_t partition_ = -1;
  int error_ = 0;
};

}  // namespace ioc::kafka
