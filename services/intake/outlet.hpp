#pragma once
/// Outlet: where reports go — the intake's producer for ioc.reports.v1
/// (acks=all, idempotent), or a fake in tests.

#include <string_view>

#include "ioc/core/result.hpp"
#include "ioc/kafka/producer.hpp"

namespace ioc::intake {

/// Thread-safe.
class Outlet {
 public:
  virtual ~Outlet() = default;
  /// Queues one record keyed by `key`; never blocks. `done` runs exactly
  /// once with the outcome, on any thread, unless an error is returned.
  virtual Status produce(std::string_view key, std::string_view value, kafka::Producer::OnDelivery done) = 0;
  /// False only while no broker can be reached at all.
  virtual bool reachable() const = 0;
};

}  // namespace ioc::intake
