#pragma once
/// The intake's metric families, registered once into the service's
/// registry. Names and help texts are part of the operations interface
/// (README, dashboards): keep them. Thread-safe (prometheus-cpp metrics).

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace ioc::intake {

struct Metrics {
  explicit Metrics(prometheus::Registry& r);

  prometheus::Family<prometheus::Counter>& outcomes;
  prometheus::Counter& accepted;
  prometheus::Counter& queued;
  prometheus::Counter& replayed;
  prometheus::Counter& invalid;
  prometheus::Counter& unauthorized;
  prometheus::Counter& rate_limited;
  prometheus::Counter& unavailable;
  prometheus::Gauge& connected;
  prometheus::Gauge& in_flight;
  prometheus::Gauge& spool_depth;
  prometheus::Gauge& spool_held;
  prometheus::Gauge& spool_bytes;
  prometheus::Gauge& spool_corrupt;
  prometheus::Counter& spool_replayed;
  prometheus::Counter& spool_skipped;
  prometheus::Counter& spool_failed;
  prometheus::Family<prometheus::Counter>& updates;
  prometheus::Counter& updates_applied;
  prometheus::Counter& updates_invalid;
  prometheus::Gauge& indexed;
  prometheus::Gauge& idempotency_keys;
  prometheus::Gauge& api_keys;
};

}  // namespace ioc::intake
