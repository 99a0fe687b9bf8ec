#include "config.hpp"

namespace ioc::intake {

Config load_config(config::Source& src) {
  Config c;
  c.common = daemon::load_common(src, "ioc-intake", ":8080");
  auto& l = c.limits;
  l.max_description_chars =
      static_cast<std::size_t>(src.get_int("intake.max_description_chars", 4000, 1, 1'000'000));
  l.max_media_urls = static_cast<std::size_t>(src.get_int("intake.max_media_urls", 10, 0, 1000));
  l.max_future_skew = src.get_duration("intake.max_future_skew", std::chrono::minutes(5));
  l.max_age = src.get_duration("intake.max_age", std::chrono::hours(24 * 30), std::chrono::minutes(1));
  c.topic = src.get_string("intake.topic", kafka::topics::kReports);
  c.status_topic = src.get_string("intake.status_topic", kafka::topics::kReportStatus);
  c.delivery_timeout =
      src.get_duration("intake.delivery_timeout", std::chrono::seconds(5), std::chrono::milliseconds(100));
  c.retry_after = std::chrono::duration_cast<std::chrono::seconds>(
      src.get_duration("intake.retry_after", std::chrono::seconds(5), std::chrono::seconds(1)));
  c.spool.dir = src.get_string("intake.spool.dir", "intake-spool");
  c.spool.max_bytes = static_cast<std::uint64_t>(
      src.get_int("intake.spool.max_bytes", std::int64_t{1} << 30, 1 << 20, std::int64_t{1} << 50));
  c.spool.segment_bytes = static_cast<std::uint64_t>(
      src.get_int("intake.spool.segment_bytes", 16 << 20, 1 << 16, std::int64_t{1} << 34));
  c.keys_file = src.get_string("intake.auth.keys_file", "");
  c.open311_public_read = src.get_bool("intake.open311.public_read", false);
  c.per_ip = {src.get_double("intake.rate_limit.per_ip", 20, 0, 1e9),
              src.get_double("intake.rate_limit.per_ip_burst", 100, 1, 1e9)};
  c.per_key = {src.get_double("intake.rate_limit.per_key", 200, 0, 1e9),
               src.get_double("intake.rate_limit.per_key_burst", 1000, 1, 1e9)};
  c.idempotency_window =
      src.get_duration("intake.idempotency.window", std::chrono::hours(24), std::chrono::seconds(1));
  c.idempotency_max_keys =
      static_cast<std::size_t>(src.get_int("intake.idempotency.max_keys", 100'000, 1, 100'000'000));
  c.max_indexed_reports =
      static_cast<std::size_t>(src.get_int("intake.status.max_reports", 100'000, 1, 100'000'000));
  c.noop_route = src.get_bool("intake.bench_noop_route", false);
  c.linger = src.get_duration("intake.linger", std::chrono::milliseconds(0), std::chrono::milliseconds(0));
  c.follow_reports = src.get_bool("intake.idempotency.follow_replicas", false);
  daemon::finish(src, "intake");
  return c;
}

}  // namespace ioc::intake
