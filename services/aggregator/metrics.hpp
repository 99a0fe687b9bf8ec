#pragma once
/// The aggregator's Prometheus families (registered once per replica).

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace ioc::aggregator {

struct Metrics {
  explicit Metrics(prometheus::Registry& r)
      : events(prometheus::BuildCounter()
                   .Name("ioc_aggregator_events_total")
                   .Help("Input records by outcome: accepted (in a window); dead-lettered with the reason: late "
                         "(beyond allowed lateness), invalid (undecodable, unknown codes), beyond_time_bound "
                         "(occurred_at too far ahead of processing time); replayed (read again after a restart, "
                         "already handled before it); pruned (removed by retention before they were read)")
                   .Register(r)),
        accepted(events.Add({{"outcome", "accepted"}})),
        late(events.Add({{"outcome", "late"}})),
        invalid(events.Add({{"outcome", "invalid"}})),
        beyond_time_bound(events.Add({{"outcome", "beyond_time_bound"}})),
        replayed(events.Add({{"outcome", "replayed"}})),
        pruned(events.Add({{"outcome", "pruned"}})),
        consumer_errors(prometheus::BuildCounter()
                            .Name("ioc_aggregator_consumer_errors_total")
                            .Help("Consumer error events by librdkafka error name (e.g. TRANSPORT, "
                                  "ALL_BROKERS_DOWN, UNKNOWN_TOPIC_OR_PART)")
                            .Register(r)),
        broker_reachable(prometheus::BuildGauge()
                             .Name("ioc_aggregator_broker_reachable")
                             .Help("1 while the consumer has a connection to at least one broker")
                             .Register(r)
                             .Add({})),
        results(prometheus::BuildCounter()
                    .Name("ioc_aggregator_results_total")
                    .Help("Window results published to the aggregates topic")
                    .Register(r)),
        results_final(results.Add({{"final", "true"}})),
        results_early(results.Add({{"final", "false"}})),
        output_errors(prometheus::BuildCounter()
                          .Name("ioc_aggregator_output_errors_total")
                          .Help("Records (results or dead letters) the producer could not queue or deliver")
                          .Register(r)
                          .Add({})),
        commits(prometheus::BuildCounter()
                    .Name("ioc_aggregator_commits_total")
                    .Help("Offset commits by outcome")
                    .Register(r)),
        lag(prometheus::BuildGauge()
                .Name("ioc_aggregator_consumer_lag")
                .Help("Records between this consumer's position and the partition's end, from the consumer's "
                      "statistics (absent while no broker is reachable)")
                .Register(r)),
        watermark(prometheus::BuildGauge()
                      .Name("ioc_aggregator_watermark_timestamp_seconds")
                      .Help("Event-time watermark of each assigned partition")
                      .Register(r)),
        open_windows(prometheus::BuildGauge()
                         .Name("ioc_aggregator_open_windows")
                         .Help("Key-windows holding state, all assigned partitions")
                         .Register(r)
                         .Add({})),
        state_bytes(prometheus::BuildGauge()
                        .Name("ioc_aggregator_state_bytes")
                        .Help("Bytes of window state, all assigned partitions")
                        .Register(r)
                        .Add({})),
        assigned(prometheus::BuildGauge()
                     .Name("ioc_aggregator_assigned_partitions")
                     .Help("Input partitions this replica owns")
                     .Register(r)
                     .Add({})),
        window_events(prometheus::BuildGauge()
                         .Name("ioc_window_events")
                         .Help("Events in the latest closed (final) window of each group, 0 where none occurred")
                         .Register(r)),
        window_end(prometheus::BuildGauge()
                       .Name("ioc_window_end_timestamp_seconds")
                       .Help("End of the latest closed window whose counts ioc_window_events shows")
                       .Register(r)) {}

  prometheus::Family<prometheus::Counter>& events;
  prometheus::Counter& accepted;
  prometheus::Counter& late;
  prometheus::Counter& invalid;
  prometheus::Counter& beyond_time_bound;
  prometheus::Counter& replayed;
  prometheus::Counter& pruned;
  prometheus::Family<prometheus::Counter>& consumer_errors;
  prometheus::Gauge& broker_reachable;
  prometheus::Family<prometheus::Counter>& results;
  prometheus::Counter& results_final;
  prometheus::Counter& results_early;
  prometheus::Counter& output_errors;
  prometheus::Family<prometheus::Counter>& commits;
  prometheus::Family<prometheus::Gauge>& lag;
  prometheus::Family<prometheus::Gauge>& watermark;
  prometheus::Gauge& open_windows;
  prometheus::Gauge& state_bytes;
  prometheus::Gauge& assigned;
  prometheus::Family<prometheus::Gauge>& window_events;
  prometheus::Family<prometheus::Gauge>& window_end;
};

}  // namespace ioc::aggregator
