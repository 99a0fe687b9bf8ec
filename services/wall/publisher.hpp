#pragma once
/// Publisher: every wall.publish_interval, moves the wall's state to now,
/// renders its sections and publishes the changed ones to the SseHub (so
/// a change read from a topic reaches the page within one interval plus
/// the consumer's fetch wait). Also keeps the wall's gauges current.
/// Called from the HTTP loop's timer; not reentrant.

#include <functional>
#include <string>

#include "ioc/core/clock.hpp"
#include "metrics.hpp"
#include "reader.hpp"
#include "sse_hub.hpp"

namespace ioc::wall {

/// What the page shows about the service itself (section "service").
struct ServiceStatus {
  bool restored = false;
  bool broker_connected = false;
};

class Publisher {
 public:
  Publisher(std::string title, SharedState& shared, SseHub& hub, const Clock& clock, Metrics& metrics,
            std::function<ServiceStatus()> status);

  /// One round: returns the number of events published.
  std::size_t tick();

 private:
  std::string title_;
  SharedState& shared_;
  SseHub& hub_;
  const Clock& clock_;
  Metrics& metrics_;
  std::function<ServiceStatus()> status_;
};

}  // namespace ioc::wall
