#pragma once
/// The aggregator's Prometheus families (registered once per replica).

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace ioc::aggregator {

struct Metrics {
  explicit Metrics(prometheus::Registry& r)
      : events(prometheus::BuildCounter()
                   .Name("ioc_aggregator_events_total")
                   .Help("Input records by outcome: accepted (in a window); dead-lettered with the reason: late "
                         "(beyond allowed lateness), invalid (undecodable, unknown codes), beyond_time_bound "
                         "(occurred_at too far ahead of processing time); unmatched (no view's filter took it); "
                         "pruned (removed by retention before they were read); duplicate (a report id already "
                         "counted within aggregator.duplicates_window: in no view, not dead-lettered)")
                   .Register(r)),
        accepted(events.Add({{"outcome", "accepted"}})),
        late(events.Add({{"outcome", "late"}})),
        invalid(events.Add({{"outcome", "invalid"}})),
        beyond_time_bound(events.Add({{"outcome", "beyond_time_bound"}})),
        unmatched(events.Add({{"outcome", "unmatched"}})),
        pruned(events.Add({{"outcome", "pruned"}})),
        duplicate(events.Add({{"outcome", "duplicate"}})),
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
        view_events(prometheus::BuildCounter()
                        .Name("ioc_aggregator_view_events_total")
                        .Help("Records per view by outcome: accepted (in its windows) or late (past the view's "
                              "allowed lateness; the record is dead-lettered naming the view)")
                        .Register(r)),
        checkpoints(prometheus::BuildCounter()
                        .Name("ioc_aggregator_checkpoints_total")
                        .Help("State checkpoints (with their offset commit) by outcome: ok, skipped (broker "
                              "unreachable or outputs not acknowledged), failed")
                        .Register(r)),
        checkpoint_bytes(prometheus::BuildCounter()
                             .Name("ioc_aggregator_checkpoint_bytes_total")
                             .Help("Bytes of window state written to the state topic")
                             .Register(r)
                             .Add({})),
        restores(prometheus::BuildCounter()
                     .Name("ioc_aggregator_restores_total")
                     .Help("Assigned partitions by how their state started: restored (from a checkpoint), fresh "
                           "(no checkpoint, nothing committed), lost (offsets committed but no usable checkpoint: "
                           "open windows restart empty), failed (the checkpoint could not be read)")
                     .Register(r)),
        rewinds(prometheus::BuildCounter()
                    .Name("ioc_aggregator_rewinds_total")
                    .Help("Times outputs the broker lost (failed deliveries) were recomputed from the last "
                          "checkpoints, without a restart")
                    .Register(r)
                    .Add({})),
        restore_seconds(prometheus::BuildGauge()
                            .Name("ioc_aggregator_last_restore_seconds")
                            .Help("How long reading and restoring the checkpoints of the last assignment took")
                            .Register(r)
                            .Add({})),
        view_value(prometheus::BuildGauge()
                       .Name("ioc_view_value")
                       .Help("Values of the latest final window of each group, for the values a view exports "
                             "(views.yaml gauges); additive values are 0 for groups without events in it")
                       .Register(r)),
        gauge_series_dropped(prometheus::BuildCounter()
                                 .Name("ioc_view_gauge_series_dropped_total")
                                 .Help("Groups not exported as gauges because the view reached its max_series")
                                 .Register(r)),
        lag(prometheus::BuildGauge()
                .Name("ioc_aggregator_consumer_lag")
                .Help("Records between this consumer's position and the partition's end, from the consumer's "
                      "statistics (absent while no broker is reachable)")
                .Register(r)),
        watermark(prometheus::BuildGauge()
                      .Name("ioc_aggregator_watermark_timestamp_seconds")
                      .Help("Watermark of each view over the partitions this replica owns")
                      .Register(r)),
        final_delay(prometheus::BuildHistogram()
                        .Name("ioc_aggregator_final_result_delay_seconds")
                        .Help("Processing time from a window's end to its final result being published: the "
                              "view's allowed lateness and out-of-orderness (or idle timeout) plus the "
                              "pipeline's own delay")
                        .Register(r)),
        open_windows(prometheus::BuildGauge()
                         .Name("ioc_aggregator_open_windows")
                         .Help("Key-windows holding state per view, all assigned partitions")
                         .Register(r)),
        state_bytes(prometheus::BuildGauge()
                        .Name("ioc_aggregator_state_bytes")
                        .Help("Bytes of window state per view, all assigned partitions")
                        .Register(r)),
        assigned(prometheus::BuildGauge()
                     .Name("ioc_aggregator_assigned_partitions")
                     .Help("Input partitions this replica owns")
                     .Register(r)
                     .Add({})),
        seen_ids(prometheus::BuildGauge()
                     .Name("ioc_aggregator_seen_ids")
                     .Help("Report ids remembered to tell duplicates (aggregator.duplicates_window), all assigned "
                           "partitions")
                     .Register(r)
                     .Add({})),
        seen_bytes(prometheus::BuildGauge()
                       .Name("ioc_aggregator_seen_ids_bytes")
                       .Help("Bytes the remembered report ids take, all assigned partitions")
                       .Register(r)
                       .Add({})) {}

  prometheus::Family<prometheus::Counter>& events;
  prometheus::Counter& accepted;
  prometheus::Counter& late;
  prometheus::Counter& invalid;
  prometheus::Counter& beyond_time_bound;
  prometheus::Counter& unmatched;
  prometheus::Counter& pruned;
  prometheus::Counter& duplicate;
  prometheus::Family<prometheus::Counter>& consumer_errors;
  prometheus::Gauge& broker_reachable;
  prometheus::Family<prometheus::Counter>& results;
  prometheus::Counter& results_final;
  prometheus::Counter& results_early;
  prometheus::Counter& output_errors;
  prometheus::Family<prometheus::Counter>& view_events;
  prometheus::Family<prometheus::Counter>& checkpoints;
  prometheus::Counter& checkpoint_bytes;
  prometheus::Family<prometheus::Counter>& restores;
  prometheus::Counter& rewinds;
  prometheus::Gauge& restore_seconds;
  prometheus::Family<prometheus::Gauge>& view_value;
  prometheus::Family<prometheus::Counter>& gauge_series_dropped;
  prometheus::Family<prometheus::Gauge>& lag;
  prometheus::Family<prometheus::Gauge>& watermark;
  prometheus::Family<prometheus::Histogram>& final_delay;
  prometheus::Family<prometheus::Gauge>& open_windows;
  prometheus::Family<prometheus::Gauge>& state_bytes;
  prometheus::Gauge& assigned;
  prometheus::Gauge& seen_ids;
  prometheus::Gauge& seen_bytes;
};

}  // namespace ioc::aggregator
