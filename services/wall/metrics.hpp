#pragma once
/// The wall's Prometheus families (registered once per process).

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <string>

namespace ioc::wall {

struct Metrics {
  explicit Metrics(prometheus::Registry& r)
      : records(prometheus::BuildCounter()
                    .Name("ioc_wall_records_total")
                    .Help("Records read by topic and outcome: applied (changed the state), stale (an older or "
                          "equal revision than held), ignored (a view the wall does not show), invalid "
                          "(decodable but unusable), malformed (undecodable: logged, never dead-lettered since the "
                          "wall only reads), too_old (before wall.restore.window, skipped at start)")
                    .Register(r)),
        restored(prometheus::BuildGauge()
                     .Name("ioc_wall_restored")
                     .Help("1 once the state was read back from the topics up to their end at start")
                     .Register(r)
                     .Add({})),
        broker_connected(prometheus::BuildGauge()
                             .Name("ioc_wall_broker_connected")
                             .Help("1 while the consumer has a connection to at least one broker")
                             .Register(r)
                             .Add({})),
        consumer_errors(prometheus::BuildCounter()
                            .Name("ioc_wall_consumer_errors_total")
                            .Help("Consumer error events by librdkafka error name")
                            .Register(r)),
        sse_clients(prometheus::BuildGauge()
                        .Name("ioc_wall_sse_clients")
                        .Help("Open Server-Sent Events streams (/events)")
                        .Register(r)
                        .Add({})),
        sse_connects(prometheus::BuildCounter()
                         .Name("ioc_wall_sse_connections_total")
                         .Help("Streams opened, by how they started: snapshot (new client, or its Last-Event-ID "
                               "was too old or from another run), replay (missed events resent), current (nothing "
                               "missed), rejected (wall.sse.max_clients reached: 503)")
                         .Register(r)),
        sse_disconnects(prometheus::BuildCounter()
                            .Name("ioc_wall_sse_disconnects_total")
                            .Help("Streams ended, by reason: closed (by the wall, e.g. at shutdown), peer_gone, "
                                  "overflow (the client read too slowly and was dropped), write_timeout")
                            .Register(r)),
        sse_events(prometheus::BuildCounter()
                       .Name("ioc_wall_sse_events_total")
                       .Help("Events published (a section of the wall changed)")
                       .Register(r)
                       .Add({})),
        active_alerts(prometheus::BuildGauge()
                          .Name("ioc_wall_active_alerts")
                          .Help("Firing alerts on the wall by severity")
                          .Register(r)),
        feed_age(prometheus::BuildGauge()
                     .Name("ioc_wall_feed_age_seconds")
                     .Help("Seconds since the latest result of each feed's views arrived (absent: none yet)")
                     .Register(r)),
        feed_stale(prometheus::BuildGauge()
                       .Name("ioc_wall_feed_stale")
                       .Help("1 while a feed shows as stale on the wall (no result within wall.stale_after.<feed>)")
                       .Register(r)),
        state_entries(prometheus::BuildGauge()
                          .Name("ioc_wall_state_entries")
                          .Help("What the wall holds in memory, by kind (windows, groups, stations, alerts, "
                                "resolved_alerts, reports, sparkline_points)")
                          .Register(r)) {}

  prometheus::Counter& record(const std::string& topic, const std::string& outcome) {
    return records.Add({{"topic", topic}, {"outcome", outcome}});
  }

  prometheus::Family<prometheus::Counter>& records;
  prometheus::Gauge& restored;
  prometheus::Gauge& broker_connected;
  prometheus::Family<prometheus::Counter>& consumer_errors;
  prometheus::Gauge& sse_clients;
  prometheus::Family<prometheus::Counter>& sse_connects;
  prometheus::Family<prometheus::Counter>& sse_disconnects;
  prometheus::Counter& sse_events;
  prometheus::Family<prometheus::Gauge>& active_alerts;
  prometheus::Family<prometheus::Gauge>& feed_age;
  prometheus::Family<prometheus::Gauge>& feed_stale;
  prometheus::Family<prometheus::Gauge>& state_entries;
};

}  // namespace ioc::wall
