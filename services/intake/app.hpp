#pragma once
/// ioc-intake: the HTTP front door for citizen reports. A report is
/// validated, given a time-ordered id, encoded as ioc.v1.Report and produced
/// to ioc.reports.v1 keyed by district; the reporter gets 202 only after the
/// broker acknowledged it (acks=all, idempotent producer), and 503 with
/// Retry-After while the broker is unreachable — never a silent loss.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>

#include "ioc/config/source.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/core/ids.hpp"
#include "ioc/core/registry.hpp"
#include "ioc/daemon/daemon.hpp"
#include "ioc/http/server.hpp"
#include "ioc/kafka/producer.hpp"
#include "report_request.hpp"

namespace ioc::intake {

struct Config {
  daemon::CommonConfig common;
  ReportLimits limits;
  std::string topic = kafka::topics::kReports;
  /// How long a request waits for the broker's acknowledgement before 503.
  std::chrono::milliseconds delivery_timeout{10'000};
  /// Retry-After sent with 503.
  std::chrono::seconds retry_after{5};
};

Config load_config(config::Source& src);

/// The intake's request handling, separate from process wiring so tests can
/// serve it on port 0 against an in-process broker. Thread-safe.
class Intake {
 public:
  Intake(const Config& cfg, const Registry& registry, const Clock& clock, prometheus::Registry& metrics);

  /// Adds POST /api/v1/reports.
  void add_routes(http::Router& router);
  /// Ready when the broker answered recently.
  metrics::Readiness readiness() const;
  /// Refreshes gauges (broker connectivity, records in flight).
  void refresh_gauges();
  /// Waits for in-flight records (on shutdown).
  void flush(std::chrono::milliseconds timeout);

 private:
  void post_report(const http::Request& req, http::Responder res);
  http::Response unavailable(std::string_view why) const;

  const Config& cfg_;
  const Registry& registry_;
  const Clock& clock_;
  IdGenerator ids_;
  prometheus::Family<prometheus::Counter>& outcomes_;
  prometheus::Counter& accepted_;
  prometheus::Counter& invalid_;
  prometheus::Counter& unavailable_;
  prometheus::Gauge& connected_;
  prometheus::Gauge& in_flight_;
  kafka::Producer producer_;
};

/// Runs the service until SIGINT/SIGTERM; returns the exit code.
int run(const Config& cfg);

}  // namespace ioc::intake
