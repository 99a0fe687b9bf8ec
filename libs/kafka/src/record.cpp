#include "ioc/kafka/record.hpp"

#include "ioc/kafka/message.hpp"

namespace ioc::kafka {

Headers dead_letter_headers(const RecordView& record, std::string_view reason, std::string_view service) {
  Headers out;
  if (record.headers != nullptr) {
    out = *record.headers;
  } else if (record.message != nullptr) {
    out = record.message->headers();
  }
  out.emplace_back("ioc.source.topic", std::string(record.topic));
  out.emplace_back("ioc.source.partition", std::to_string(record.partition));
  out.emplace_back("ioc.source.offset", std::to_string(record.offset));
  out.emplace_back("ioc.error", std::string(reason));
  out.emplace_back("ioc.service", std::string(service));
  return out;
}

}  // namespace ioc::kafka
