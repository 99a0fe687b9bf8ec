#pragma once
/// The observability endpoints every service exposes on its HTTP server:
///   GET /metrics  Prometheus text format 0.0.4 of the service's registry
///   GET /healthz  200 while the process runs its event loop
///   GET /readyz   200 when the service can do its job (e.g. broker reachable),
///                 503 with the reason otherwise
/// plus per-route request counters and latency histograms, and standard
/// process_* metrics. Families are registered into an injected registry.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <string>

#include "ioc/http/server.hpp"

namespace ioc::metrics {

/// Readiness: ok, or the reason it is not ready.
struct Readiness {
  bool ready = true;
  std::string reason;
  /// Shown in the /readyz body either way (e.g. a queue depth).
  boost::json::object details;
};
using ReadinessCheck = std::function<Readiness()>;

class ProcessCollector;

/// A service's metrics: its registry (families registered by the service's
/// parts) plus standard process_* metrics (CPU seconds, resident memory,
/// open fds, start time) and ioc_build_info{service,version}, read from /proc
/// on each scrape. Thread-safe.
class Exposition {
 public:
  Exposition(std::string service, std::string version);
  ~Exposition();
  prometheus::Registry& registry() { return *registry_; }
  /// Everything in the Prometheus text format 0.0.4.
  std::string serialize() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<ProcessCollector> process_;
};

/// Adds /metrics, /healthz and /readyz to `router`. `ready` is called per
/// /readyz request on the server's thread; keep it cheap (read a flag).
void add_endpoints(http::Router& router, const std::shared_ptr<const Exposition>& exposition,
                   ReadinessCheck ready);

/// ioc_http_requests_total{route,method,code} and
/// ioc_http_request_duration_seconds{route,method}. Thread-safe.
class HttpMetrics {
 public:
  explicit HttpMetrics(prometheus::Registry& registry);
  void observe(const http::Completed& c);
  /// ioc_http_connections_refused_total{reason}.
  void refused(const http::Refused& r);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& refused_;
};

}  // namespace ioc::metrics
