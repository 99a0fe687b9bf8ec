#pragma once
/// Record: one input record of any stream (ioc/views/streams.hpp), decoded
/// into a reusable buffer, with its fields read by the stream's accessors.
/// No allocation per record once the strings have grown. Not thread-safe:
/// one per pipeline.

#include <cstdint>
#include <string>
#include <string_view>

#include "ioc/core/model.hpp"
#include "ioc/core/result.hpp"
#include "ioc/views/catalog.hpp"

namespace ioc::aggregator {

using views::FieldId;
using views::kMaxGroupBy;
using views::kStreams;
using views::Match;
using views::Ratio;
using views::Stream;
using views::TimeAttribute;
using views::topic_of;
using views::ViewConfig;

class Record {
 public:
  [[nodiscard]] Status decode(Stream stream, std::string_view bytes, std::int64_t kafka_timestamp_ms);
  Stream stream() const { return stream_; }
  /// A text field of the record's stream.
  std::string_view text(FieldId field) const {
    return views::visit(stream_, [&](auto s) { return decltype(s)::kFields[field].text(get(s)); });
  }
  /// A numeric field of the record's stream.
  double number(FieldId field) const {
    return views::visit(stream_, [&](auto s) { return decltype(s)::kFields[field].number(get(s)); });
  }
  std::int64_t time_ms(TimeAttribute time) const;
  /// The id kept as evidence: report id, application id, station id.
  const std::string& id() const {
    return views::visit(stream_, [&](auto s) -> const std::string& { return decltype(s)::id(get(s)); });
  }
  const std::string& district() const {
    return views::visit(stream_, [&](auto s) -> const std::string& { return get(s).district; });
  }
  TimePoint occurred_at() const {
    return views::visit(stream_, [&](auto s) { return get(s).occurred_at; });
  }

  /// Tests: a record set without encoding it.
  template <typename R>
  void set(const R& record, std::int64_t kafka_ts = 0) {
    std::get<R>(records_) = record;
    stream_ = stream_of<R>();
    kafka_ts_ = kafka_ts;
  }

 private:
  template <typename S>
  const typename S::Record& get(S) const {
    return std::get<typename S::Record>(records_);
  }
  template <typename R>
  static Stream stream_of() {
    Stream out{};
    views::for_each_stream([&](auto s) {
      if constexpr (std::is_same_v<typename decltype(s)::Record, R>) out = decltype(s)::kStream;
    });
    return out;
  }

  Stream stream_ = Stream::kReports;
  std::int64_t kafka_ts_ = 0;
  views::Records records_;
};

}  // namespace ioc::aggregator
