#include "record.hpp"

#include "ioc/codec/codec.hpp"

namespace ioc::aggregator {

// Every stream's record has its codec (libs/codec): a stream without one
// does not compile here.
Status Record::decode(Stream stream, std::string_view bytes, std::int64_t kafka_timestamp_ms) {
  stream_ = stream;
  kafka_ts_ = kafka_timestamp_ms;
  return views::visit(stream, [&](auto s) {
    return codec::decode(bytes, std::get<typename decltype(s)::Record>(records_));
  });
}

std::int64_t Record::time_ms(TimeAttribute time) const {
  switch (time) {
    case TimeAttribute::kOccurredAt: return to_epoch_ms(occurred_at());
    case TimeAttribute::kReceivedAt:
      return views::visit(stream_, [&](auto s) { return to_epoch_ms(get(s).received_at); });
    case TimeAttribute::kIngest: return kafka_ts_;
  }
  return 0;
}

}  // namespace ioc::aggregator
