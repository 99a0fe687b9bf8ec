#include "metrics.hpp"

#include <string>

namespace ioc::intake {

namespace {

prometheus::Gauge& gauge(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

prometheus::Counter& counter(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

}  // namespace

Metrics::Metrics(prometheus::Registry& r)
    : outcomes(prometheus::BuildCounter()
                   .Name("ioc_intake_reports_total")
                   .Help("Report submissions by outcome: accepted (stored by the broker), queued (fsync'ed to the "
                         "spool), replayed (an idempotent retry answered from memory), invalid (4xx), "
                         "unauthorized (401/403), rate_limited (429), unavailable (503: neither broker nor spool)")
                   .Register(r)),
      accepted(outcomes.Add({{"outcome", "accepted"}})),
      queued(outcomes.Add({{"outcome", "queued"}})),
      replayed(outcomes.Add({{"outcome", "replayed"}})),
      invalid(outcomes.Add({{"outcome", "invalid"}})),
      unauthorized(outcomes.Add({{"outcome", "unauthorized"}})),
      rate_limited(outcomes.Add({{"outcome", "rate_limited"}})),
      unavailable(outcomes.Add({{"outcome", "unavailable"}})),
      connected(gauge(r, "ioc_intake_broker_connected", "1 when the Kafka brokers answered the last probe")),
      in_flight(gauge(r, "ioc_intake_records_in_flight",
                      "Reports handed to the producer and not yet acknowledged by the broker")),
      spool_depth(gauge(r, "ioc_intake_spool_depth", "Reports in the spool not yet delivered to the broker")),
      spool_held(gauge(r, "ioc_intake_spool_held",
                       "Spooled reports whose original record is still on its way to the broker (not replayed "
                       "unless it fails)")),
      spool_bytes(gauge(r, "ioc_intake_spool_bytes", "Bytes of spool segments on disk")),
      spool_corrupt(gauge(r, "ioc_intake_spool_corrupt_records",
                          "Corrupt spool regions found at start (copied to <spool>/corrupt/)")),
      spool_replayed(counter(r, "ioc_intake_spool_replayed_total",
                             "Spooled reports delivered to the broker by the replayer")),
      spool_skipped(counter(r, "ioc_intake_spool_skipped_total",
                            "Spooled reports settled unsent because a record of them was on the topic already "
                            "(a replay a crash left unacknowledged, a retry stored while the topic was unreadable)")),
      spool_failed(counter(r, "ioc_intake_spool_write_errors_total",
                           "Spool appends refused (disk full, I/O error, intake.spool.max_bytes)")),
      updates(prometheus::BuildCounter()
                  .Name("ioc_intake_status_updates_total")
                  .Help("Operator updates read from the report-status topic, by outcome (applied, invalid: "
                        "dead-lettered)")
                  .Register(r)),
      updates_applied(updates.Add({{"outcome", "applied"}})),
      updates_invalid(updates.Add({{"outcome", "invalid"}})),
      indexed(gauge(r, "ioc_intake_indexed_reports",
                    "Reports the status lookup knows (bounded by intake.status.max_reports)")),
      idempotency_keys(gauge(r, "ioc_intake_idempotency_keys",
                             "Idempotency keys remembered (bounded by intake.idempotency.max_keys)")),
      api_keys(gauge(r, "ioc_intake_api_keys", "API keys loaded from intake.auth.keys_file (-1: auth off)")) {}

}  // namespace ioc::intake
