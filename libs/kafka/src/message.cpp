#include "ioc/kafka/message.hpp"

namespace ioc::kafka {

std::optional<std::string_view> Message::header(const char* name) const {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m_.get(), &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  const void* v = nullptr;
  std::size_t len = 0;
  if (rd_kafka_header_get_last(hdrs, name, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  return std::string_view(static_cast<const char*>(v), len);
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
