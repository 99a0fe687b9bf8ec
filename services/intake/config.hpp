#pragma once
/// The intake's settings (`intake.*` plus the shared sections), read once at
/// start into an immutable struct.

#include <chrono>
#include <cstddef>
#include <string>

#include "ioc/config/source.hpp"
#include "ioc/daemon/daemon.hpp"
#include "ioc/kafka/client_config.hpp"
#include "rate_limit.hpp"
#include "report_request.hpp"
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
  /// `intake.open311.public_read`: Open311 `GET requests.json` and
  /// `GET requests/{id}.json` without a key, as GeoReport v2 has it. Off by
  /// default: reports carry citizens' descriptions and addresses.
  bool open311_public_read = false;
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

/// Throws ioc::ConfigError naming the key when a setting is invalid.
Config load_config(config::Source& src);

}  // namespace ioc::intake
