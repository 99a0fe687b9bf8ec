#include "ioc/kafka/message.hpp"

#include <librdkafka/rdkafka.h>

namespace ioc::kafka {

Message::Message(rd_kafka_message_t* m)
    : m_(m),
      topic_(m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : std::string_view()),
      key_(static_cast<const char*>(m->key), m->key_len),
      value_(static_cast<const char*>(m->payload), m->len),
      offset_(m->offset),
      partition_(m->partition),
      error_(m->err) {}

void Message::Destroy::operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }

std::string Message::error_string() const { return rd_kafka_message_errstr(m_.get()); }

std::int64_t Message::timestamp_ms() const { return rd_kafka_message_timestamp(m_.get(), nullptr); }

std::optional<std::string_view> Message::header(const char* name) const {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m_.get(), &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  const void* v = nullptr;
  std::size_t len = 0;
  if (rd_kafka_header_get_last(hdrs, name, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  return std::string_view(static_cast<const char*>(v), len);
}

RecordView Message::view() const {
  return RecordView{.topic = topic_,
                    .partition = partition_,
                    .offset = offset_,
                    .timestamp_ms = timestamp_ms(),
                    .key = key_,
                    .value = value_,
                    .headers = nullptr,
                    .message = this};
}

Headers Message::headers() const {
  Headers out;
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m_.get(), &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  const char* name = nullptr;
  const void* v = nullptr;
  std::size_t len = 0;
  for (std::size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    out.emplace_back(name, v != nullptr ? std::string(static_cast<const char*>(v), len) : std::string());
  }
  return out;
}

}  // namespace ioc::kafka
