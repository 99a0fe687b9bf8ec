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
/// Around that: API keys with scopes, per-IP and per-key token buckets,
/// Idempotency-Key retries, and status lookups fed by the intake's own
/// topics (reports, operator updates on ioc.report-status.v1).

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "auth.hpp"
#include "handoff.hpp"
#include "ioc/config/source.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/core/ids.hpp"
#include "ioc/core/registry.hpp"
#include "ioc/daemon/daemon.hpp"
#include "ioc/http/server.hpp"
#include "ioc/kafka/producer.hpp"
#include "rate_limit.hpp"
#include "report_request.hpp"
#include "report_store.hpp"
#include "spool.hpp"

namespace ioc::intake {

struct Config {
  daemon::CommonConfig common;
  ReportLimits limits;
  std::string topic = kafka::topics::kReports;
  std::string status_topic = kafka::topics::kReportStatus;
  std::string deadletter_topic = kafka::topics::kDeadLetter;
  /// How long a request waits for the broker's acknowledgement before its
  /// report is spooled and answered "queued" (its record stays in flight);
  /// without a spool, how long a record may take before it is given up (503).
  std::chrono::milliseconds delivery_timeout{5'000};
  /// Retry-After sent with 503.
  std::chrono::seconds retry_after{5};
  /// `intake.spool.*`; an empty dir turns the spool off.
  SpoolOptions spool{"intake-spool"};
  /// `intake.auth.keys_file`; empty: no authentication (said at start).
  std::string keys_file;
  RateLimit per_ip{20, 100};
  RateLimit per_key{200, 1000};
  std::size_t idempotency_max_keys = 100'000;
  std::chrono::milliseconds idempotency_window{std::chrono::hours(24)};
  std::size_t max_indexed_reports = 100'000;
  /// `intake.bench_noop_route`: serves POST /bench/noop (202, no work), the
  /// baseline of bench/intake_wrk.sh.
  bool noop_route = false;
  /// `intake.linger`: how long the producer waits to fill a batch.
  std::chrono::milliseconds linger{0};
  /// `intake.idempotency.follow_replicas`: keep reading ioc.reports.v1
  /// after the start-up catch-up, so retries that reach another replica are
  /// recognised too. One consumer tailing the reports topic per replica.
  bool follow_reports = false;
};

Config load_config(config::Source& src);

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
  struct Metrics;
  enum class Api { kNative, kOpen311 };
  struct Submission;

  // Rate limits and API key checks: who is calling (name "" with auth off),
  // or nullopt after the refusal was sent.
  std::optional<Principal> admit(const http::Request& req, const http::Responder& res, Api api, Scope scope,
                              const std::string* api_key_param);
  void refuse(const http::Responder& res, Api api, http::Status status, std::string_view code,
              const std::string& message) const;
  void post_report(const http::Request& req, http::Responder res);
  void get_report(const http::Params& params, const http::Request& req, http::Responder res);
  void post_open311(const http::Request& req, http::Responder res);
  void get_open311_requests(const http::Request& req, http::Responder res);
  void get_open311_request(const http::Params& params, const http::Request& req, http::Responder res);
  // Idempotency, then the handoff to the broker or the spool; answers
  // through `res`.
  void submit(Report report, Api api, const Principal& caller, const http::Request& req, http::Responder res);
  void complete(const Submission& s, Delivery delivery);
  // Indexes a stored report, and its idempotency key for retries.
  void remember(const Report& r, Delivery delivery);
  void fail(const Submission& s, std::string_view code, const std::string& why);
  http::Response stored_response(const Report& r, Api api, Delivery delivery) const;

  void follow_loop();

  const Config& cfg_;
  const Registry& registry_;
  const Clock& clock_;
  IdGenerator ids_;
  std::unique_ptr<Metrics> m_;
  kafka::Producer producer_;
  std::unique_ptr<Outlet> outlet_;  // producer_ to cfg_.topic
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<Handoff> handoff_;  // destroyed first; producer_ purged before (flush)
  KeyRing keys_;
  TokenBuckets per_ip_;
  TokenBuckets per_key_;
  IdempotencyCache idempotency_;
  ReportStore store_;

  std::atomic<bool> index_ready_{false};  // reports stored before start are indexed
  std::atomic<bool> stop_{false};
  std::thread follower_;
};

/// Runs the service until SIGINT/SIGTERM; returns the exit code.
int run(const Config& cfg);

}  // namespace ioc::intake
