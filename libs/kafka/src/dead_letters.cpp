#include "ioc/kafka/dead_letters.hpp"

#include <utility>

#include "ioc/core/log.hpp"
#include "ioc/kafka/producer.hpp"

namespace ioc::kafka {

DeadLetters::DeadLetters(std::string topic, std::string service, Produce produce)
    : topic_(std::move(topic)), service_(std::move(service)), produce_(std::move(produce)) {}

DeadLetters::DeadLetters(std::string topic, std::string service, Producer& producer)
    : DeadLetters(std::move(topic), std::move(service),
                  [&producer](const std::string& t, std::string_view key, std::string_view value, const Headers& h) {
                    return producer.produce(t, key, value, {}, h);
                  }) {}

Status DeadLetters::send(const RecordView& record, std::string_view reason) const {
  Status s = produce_(topic_, record.key, record.value, dead_letter_headers(record, reason, service_));
  if (!s.ok()) {
    log::error("dead letter not queued", {{"error", s.error().message},
                                          {"reason", std::string(reason)},
                                          {"topic", std::string(record.topic)},
                                          {"partition", record.partition},
                                          {"offset", record.offset}});
  }
  return s;
}

}  // namespace ioc::kafka
