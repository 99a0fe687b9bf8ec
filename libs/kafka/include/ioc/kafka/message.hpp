#pragma once
/// Message: one consumed Kafka record, owning its librdkafka buffer (freed on
/// destruction, no copy). Move-only. Not thread-safe; hand it over by move.
/// A Message must be destroyed before the Consumer it came from (librdkafka
/// blocks the consumer's destruction until its messages are released).

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ioc::kafka {

/// Header name/value pairs to attach when producing.
using Headers = std::vector<std::pair<std::string, std::string>>;

class Message {
 public:
  explicit Message(rd_kafka_message_t* m) : m_(m) {}

  /// RD_KAFKA_RESP_ERR_NO_ERROR for a record; otherwise a consumer event
  /// (partition EOF, error) carried in-band by librdkafka.
  rd_kafka_resp_err_t error() const { return m_->err; }
  std::string error_string() const { return rd_kafka_message_errstr(m_.get()); }

  std::string_view topic() const { return m_->rkt != nullptr ? rd_kafka_topic_name(m_->rkt) : std::string_view(); }
  std::int32_t partition() const { return m_->partition; }
  std::int64_t offset() const { return m_->offset; }
  std::string_view key() const { return {static_cast<const char*>(m_->key), m_->key_len}; }
  std::string_view value() const { return {static_cast<const char*>(m_->payload), m_->len}; }
  /// Record timestamp (ms since epoch), or -1 when absent.
  std::int64_t timestamp_ms() const { return rd_kafka_message_timestamp(m_.get(), nullptr); }
  /// Value of the last header named `name`, if present.
  std::optional<std::string_view> header(const char* name) const;
  /// All headers as owned pairs (for forwarding to the dead-letter topic).
  Headers headers() const;

 private:
  struct Destroy {
    void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
  };
  std::unique_ptr<rd_kafka_message_t, Destroy> m_;
};

}  // namespace ioc::kafka
