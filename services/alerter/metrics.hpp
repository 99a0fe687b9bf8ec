#pragma once
/// The alerter's Prometheus families (the Notifier registers its own).

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace ioc::alerter {

struct Metrics {
  explicit Metrics(prometheus::Registry& r)
      : results(prometheus::BuildCounter()
                    .Name("ioc_alerter_results_total")
                    .Help("Window results read from ioc.aggregates.v1 by outcome: applied (taken by a rule), stale (a "
                          "revision already known or older), expired (a window too old to matter), unmatched (no rule "
                          "reads it), invalid (undecodable or unusable: dead-lettered with the reason)")
                    .Register(r)),
        applied(results.Add({{"outcome", "applied"}})),
        stale(results.Add({{"outcome", "stale"}})),
        expired(results.Add({{"outcome", "expired"}})),
        unmatched(results.Add({{"outcome", "unmatched"}})),
        invalid(results.Add({{"outcome", "invalid"}})),
        evaluations(prometheus::BuildCounter()
                        .Name("ioc_alerter_rule_evaluations_total")
                        .Help("Alert evaluations (one rule judging one alert's series)")
                        .Register(r)
                        .Add({})),
        evaluation_seconds(prometheus::BuildHistogram()
                               .Name("ioc_alerter_evaluation_duration_seconds")
                               .Help("Time of one evaluation pass: after a batch of results (touched alerts) or "
                                     "periodic (all alerts: timers, windows ending, silence)")
                               .Register(r)),
        eval_touched(evaluation_seconds.Add({{"pass", "touched"}}, buckets())),
        eval_all(evaluation_seconds.Add({{"pass", "all"}}, buckets())),
        alerts(prometheus::BuildGauge()
                   .Name("ioc_alerter_alerts")
                   .Help("Alerts by state (pending, firing) and severity")
                   .Register(r)),
        transitions(prometheus::BuildCounter()
                        .Name("ioc_alerter_transitions_total")
                        .Help("Alert events published to ioc.alerts.v1 by state (pending, firing, resolved, inactive: "
                              "a pending alert that ended without firing)")
                        .Register(r)),
        output_errors(prometheus::BuildCounter()
                          .Name("ioc_alerter_output_errors_total")
                          .Help("Alert events or dead letters the producer could not queue or deliver (alert "
                                "events are published again)")
                          .Register(r)
                          .Add({})),
        consumer_errors(prometheus::BuildCounter()
                            .Name("ioc_alerter_consumer_errors_total")
                            .Help("Consumer error events by librdkafka error name")
                            .Register(r)),
        broker_reachable(prometheus::BuildGauge()
                             .Name("ioc_alerter_broker_reachable")
                             .Help("1 while the consumer has a connection to at least one broker")
                             .Register(r)
                             .Add({})),
        assigned(prometheus::BuildGauge()
                     .Name("ioc_alerter_assigned_partitions")
                     .Help("Partitions of ioc.aggregates.v1 read (the alerter reads all of them)")
                     .Register(r)
                     .Add({})),
        lag(prometheus::BuildGauge()
                .Name("ioc_alerter_consumer_lag")
                .Help("Window results not yet read, per partition (absent while no broker is reachable)")
                .Register(r)),
        checkpoints(prometheus::BuildCounter()
                        .Name("ioc_alerter_checkpoints_total")
                        .Help("Checkpoints written by outcome")
                        .Register(r)),
        checkpoint_time(prometheus::BuildGauge()
                            .Name("ioc_alerter_checkpoint_timestamp_seconds")
                            .Help("When the last checkpoint was written")
                            .Register(r)
                            .Add({})),
        rules(prometheus::BuildGauge().Name("ioc_alerter_rules").Help("Rules loaded").Register(r).Add({})),
        series(prometheus::BuildGauge()
                   .Name("ioc_alerter_series")
                   .Help("Series (groups of a view) the rules keep state for")
                   .Register(r)
                   .Add({})),
        reloads(prometheus::BuildCounter()
                    .Name("ioc_alerter_rule_reloads_total")
                    .Help("Rule file reloads (SIGHUP) by outcome")
                    .Register(r)) {}

  static prometheus::Histogram::BucketBoundaries buckets() {
    return {0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1};
  }

  prometheus::Family<prometheus::Counter>& results;
  prometheus::Counter& applied;
  prometheus::Counter& stale;
  prometheus::Counter& expired;
  prometheus::Counter& unmatched;
  prometheus::Counter& invalid;
  prometheus::Counter& evaluations;
  prometheus::Family<prometheus::Histogram>& evaluation_seconds;
  prometheus::Histogram& eval_touched;
  prometheus::Histogram& eval_all;
  prometheus::Family<prometheus::Gauge>& alerts;
  prometheus::Family<prometheus::Counter>& transitions;
  prometheus::Counter& output_errors;
  prometheus::Family<prometheus::Counter>& consumer_errors;
  prometheus::Gauge& broker_reachable;
  prometheus::Gauge& assigned;
  prometheus::Family<prometheus::Gauge>& lag;
  prometheus::Family<prometheus::Counter>& checkpoints;
  prometheus::Gauge& checkpoint_time;
  prometheus::Gauge& rules;
  prometheus::Gauge& series;
  prometheus::Family<prometheus::Counter>& reloads;
};

}  // namespace ioc::alerter
