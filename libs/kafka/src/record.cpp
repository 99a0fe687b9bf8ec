#include "ioc/kafka/record.hpp"

namespace ioc::kafka {

Headers dead_letter_headers(const RecordView& record, Headers own, std::string_view reason, std::string_view service) {
  own.emplace_back("ioc.source.topic", std::string(record.topic));
  own.emplace_back("ioc.source.partition", std::to_string(record.partition));
  own.emplace_back("ioc.source.offset", std::to_string(record.offset));
  own.emplace_back("ioc.error", std::string(reason));
  own.emplace_back("ioc.service", std::string(service));
  return own;
}

}  // namespace ioc::kafka
