#pragma once
/// ioc-intake: the HTTP front door for citizen reports, natively
/// (POST /api/v1/reports) and through Open311 GeoReport v2.
///
/// A report is validated, given a time-ordered id, encoded as ioc.v1.Report
/// and produced to ioc.reports.v1 keyed by district. The reporter gets 202
/// "accepted" once the broker acknowledged it (acks=all, idempotent
/// producer), or 202 "queued" once it is fsync'ed to the local spool because
/// the broker is unreachable or too slow; the spool is replayed in order
/// when the broker returns, and a report whose record was only slow is not
/// sent twice (see handoff.hpp). 503 with Retry-After only when neither can
/// take it — never a silent loss.
///
/// Around that: API keys with scopes, per-IP and per-key token buckets
/// (admission.hpp), Idempotency-Key retries (submission.hpp), and status
/// lookups fed by the intake's own topics (report_index.hpp). Each job has
/// its file; this one wires them.

#include <chrono>
#include <memory>

#include "admission.hpp"
#include "config.hpp"
#include "handoff.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/core/registry.hpp"
#include "ioc/http/server.hpp"
#include "ioc/kafka/producer.hpp"
#include "ioc/metrics/endpoints.hpp"
#include "metrics.hpp"
#include "report_index.hpp"
#include "report_store.hpp"
#include "routes.hpp"
#include "spool.hpp"
#include "submission.hpp"

namespace ioc::intake {

/// The intake's request handling, separate from process wiring so tests can
/// serve it on port 0 against an in-process broker. Thread-safe.
class Intake {
 public:
  Intake(const Config& cfg, const Registry& registry, const Clock& clock, prometheus::Registry& metrics);
  ~Intake();

  /// Adds the native and Open311 routes.
  void add_routes(http::Router& router);
  /// Ready while a report can be made durable: the broker answers, or the
  /// spool has room. Details give the spool depth and broker state.
  metrics::Readiness readiness() const;
  /// Refreshes gauges (broker connectivity, records in flight, spool).
  void refresh_gauges();
  /// Re-reads the keys file (SIGHUP); keeps the old keys when it is invalid.
  void reload_keys();
  /// Stops the background work and waits for in-flight records (on shutdown).
  void flush(std::chrono::milliseconds timeout);

 private:
  class ReportsOutlet;

  // Declared in the order they depend on each other: the handoff (and its
  // replayer) before the producer, whose callbacks reach it; the producer
  // is destroyed first.
  const Config& cfg_;
  Metrics m_;
  ReportStore store_;
  IdempotencyCache idempotency_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<ReportsOutlet> outlet_;  // to producer_, cfg_.topic
  Handoff handoff_;
  kafka::Producer producer_;
  Admission admission_;
  Submissions submissions_;
  ReportIndex index_;
  Routes routes_;
};

/// Runs the service until SIGINT/SIGTERM; returns the exit code.
int run(const Config& cfg);

}  // namespace ioc::intake
