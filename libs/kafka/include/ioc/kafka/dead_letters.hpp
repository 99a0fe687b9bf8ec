#pragma once
/// DeadLetters: a service's dead-letter topic. A record that cannot be used
/// is copied there (same key and value) with its own headers, where it came
/// from and why (dead_letter_headers()); one that cannot even be queued is
/// logged. Every consuming service sets records aside through this one path.
///
/// Thread-safe when its Produce is (Producer::produce is).

#include <functional>
#include <string>
#include <string_view>

#include "ioc/core/result.hpp"
#include "ioc/kafka/record.hpp"

namespace ioc::kafka {

class Producer;

class DeadLetters {
 public:
  /// Queues one record: the service's producing policy (at once, or
  /// waiting for room in a full queue).
  using Produce = std::function<Status(const std::string& topic, std::string_view key, std::string_view value,
                                       const Headers& headers)>;

  DeadLetters(std::string topic, std::string service, Produce produce);
  /// Queues through `producer` at once (which must outlive this object).
  DeadLetters(std::string topic, std::string service, Producer& producer);

  /// Queues the copy of `record`, set aside for `reason`; the error (also
  /// logged) when it was not queued.
  Status send(const RecordView& record, std::string_view reason) const;

  const std::string& topic() const { return topic_; }

 private:
  std::string topic_;
  std::string service_;
  Produce produce_;
};

}  // namespace ioc::kafka
