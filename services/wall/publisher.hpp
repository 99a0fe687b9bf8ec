#pragma once
/// Publisher: every wall.publish_interval, moves the wall's state to now,
/// renders its sections and publishes the changed ones to the SseHub (so
/// a change read from a topic reaches the page within one interval plus
/// the consumer's fetch wait). Also keeps the wall's gauges current.
/// Called from the HTTP loop's timer; not reentrant.

#include <atomic>
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
  /// True once a round published the restored state (the page and
  /// /api/v1/state show it). Thread-safe.
  bool showing_restored() const { return showing_restored_.load(std::memory_order_acquire); }

 private:
  std::string title_;
  SharedState& shared_;
  SseHub& hub_;
  const Clock& clock_;
  Metrics& metrics_;
  std::function<ServiceStatus()> status_;
  std::atomic<bool> showing_restored_{false};
};

}  // namespace ioc::wall
