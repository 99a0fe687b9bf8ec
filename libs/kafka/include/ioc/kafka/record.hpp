#pragma once
/// RecordView: one input record as plain values (no librdkafka), for code that
/// handles records without caring where they came from: a kafka::Message
/// (Message::view()) in a service, an in-memory record (ioc/kafka/fakes) in a
/// unit test. A view: the bytes belong to the record it was taken from.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ioc::kafka {

class Message;

/// Header name/value pairs to attach when producing.
using Headers = std::vector<std::pair<std::string, std::string>>;

struct RecordView {
  std::string_view topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = -1;  // -1 when absent
  std::string_view key;
  std::string_view value;
  /// The record's headers, when its source has them at hand (in-memory
  /// records); nullptr for a Message, whose headers are read only on demand
  /// (Message::headers()).
  const Headers* headers = nullptr;
  /// The Message the view was taken from (nullptr for in-memory records):
  /// where its headers are read when they are needed.
  const Message* message = nullptr;
};

/// The headers of a record's copy on the dead-letter topic: the record's
/// own (from `headers`, else from its `message`), then
/// ioc.source.topic/partition/offset, ioc.error (`reason`) and ioc.service.
Headers dead_letter_headers(const RecordView& record, std::string_view reason, std::string_view service);

}  // namespace ioc::kafka
