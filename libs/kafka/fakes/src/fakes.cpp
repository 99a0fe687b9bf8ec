#include "ioc/kafka/fakes/fakes.hpp"

namespace ioc::kafka::fakes {

RecordView Record::view() const {
  return RecordView{.topic = topic,
                    .partition = partition,
                    .offset = offset,
                    .timestamp_ms = timestamp_ms,
                    .key = key,
                    .value = value,
                    .headers = &headers};
}

const Record& Log::append(std::string_view topic, std::int32_t partition, std::string_view key, std::string_view value,
                          std::int64_t timestamp_ms, Headers headers) {
  std::int64_t& next = next_[{std::string(topic), partition}];
  records_.push_back(Record{std::string(topic), partition, next, timestamp_ms, std::string(key), std::string(value),
                            std::move(headers)});
  ++next;
  return records_.back();
}

void Log::skip(std::string_view topic, std::int32_t partition, std::int64_t n) {
  next_[{std::string(topic), partition}] += n;
}

std::int64_t Log::end(std::string_view topic, std::int32_t partition) const {
  auto it = next_.find(std::make_pair(std::string(topic), partition));
  return it == next_.end() ? 0 : it->second;
}

std::optional<std::string_view> Produced::header(std::string_view name) const {
  std::optional<std::string_view> v;
  for (const auto& [k, val] : headers) {
    if (k == name) v = val;
  }
  return v;
}

void Outbox::produce(std::string_view topic, std::string_view key, std::string_view value, Headers headers) {
  produced_.push_back(Produced{std::string(topic), std::string(key), std::string(value), std::move(headers)});
}

std::vector<Produced> Outbox::on(std::string_view topic) const {
  std::vector<Produced> out;
  for (const Produced& p : produced_) {
    if (p.topic == topic) out.push_back(p);
  }
  return out;
}

}  // namespace ioc::kafka::fakes
