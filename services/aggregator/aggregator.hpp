#pragma once
/// ioc-aggregator's run loop: the views of views.yaml over the reports,
/// transactions and telemetry topics, published to ioc.aggregates.v1 (and
/// selected values as Prometheus gauges). The record path is the Pipeline
/// (pipeline.hpp, no Kafka); this class is its Kafka side: the consumer and
/// its rebalances, the producer (the pipeline's Sink), checkpoints,
/// readiness, state gauges and queries.
///
/// A unit is one input partition of one stream; it has one window engine
/// holding every view over that stream. Topics are keyed by district and
/// every view groups by district, so a unit's windows never need another
/// partition's records, and a unit's state moves with its partition on
/// rebalance.
///
/// Recovery is by checkpoint (checkpoint.hpp): every checkpoint_interval,
/// outputs are flushed, then each changed unit's state is written with the
/// input offset it includes, then offsets are committed. A unit assigned to
/// this replica restores its latest checkpoint and reads on from its offset;
/// until it has read up to the log end seen at assignment it emits nothing
/// and its quiet-partition rule stays off, so a replay recomputes exactly
/// what the first run computed.
///
/// Nothing is set aside silently (see pipeline.hpp): every record ends in
/// a window, in the dead-letter topic with its reason, or in a counter.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "checkpoint.hpp"
#include "config.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/core/registry.hpp"
#include "ioc/kafka/admin.hpp"
#include "ioc/kafka/cluster_watch.hpp"
#include "ioc/kafka/consumer.hpp"
#include "ioc/kafka/consumer_health.hpp"
#include "ioc/kafka/dead_letters.hpp"
#include "ioc/kafka/producer.hpp"
#include "ioc/metrics/endpoints.hpp"
#include "ioc/window/engine.hpp"
#include "pipeline.hpp"

namespace prometheus {
class Registry;
class Counter;
}  // namespace prometheus

namespace ioc::aggregator {

struct Metrics;

/// Results of one view, for queries (GET /api/v1/views/{view}).
struct ViewQuery {
  std::string view;
  std::vector<std::pair<std::string, std::string>> match;  // group label = value filters
};

/// The aggregation pipeline of one replica. run() is the poll loop and owns
/// all engines; readiness(), query() and the metrics are safe from other
/// threads. Ready means: has partitions, has a broker connection, is not
/// stalled with records waiting, and has restored its state.
class Aggregator : public kafka::RebalanceListener, private Sink {
 public:
  Aggregator(const Config& cfg, const Registry& registry, const Clock& clock, prometheus::Registry& metrics);
  ~Aggregator() override;

  /// Polls, aggregates and publishes until `stop` is set; then checkpoints
  /// and leaves the group. A broker outage of any length is ridden out:
  /// outputs wait in the producer (delivery_timeout 0), checkpoints wait
  /// for them, /readyz says why. An output librdkafka fails (a topic that
  /// seems gone while brokers restart, a finite delivery_timeout) is
  /// recomputed from the last checkpoints (rewind()). Returns false when
  /// outputs were lost and not yet recomputed when `stop` came (or the
  /// checkpoints of a new assignment could not be read): the process should
  /// exit non-zero, and a restart recomputes them.
  [[nodiscard]] bool run(const std::atomic<bool>& stop);
  metrics::Readiness readiness() const;

  /// JSON: the open and last final windows of a view's groups in the
  /// partitions this replica owns. Error kNotFound for an unknown view,
  /// kInvalidArgument for a filter on a label the view does not have.
  [[nodiscard]] Result<std::string> query(const ViewQuery& q) const;

  void on_assigned(std::vector<kafka::TopicPartition>& partitions) override;
  void on_revoked(const std::vector<kafka::TopicPartition>& partitions) override;
  void on_error(const kafka::ConsumerError& error) override { health_.on_error(error); }
  void on_stats(const kafka::ConsumerStats& stats) override { health_.on_stats(stats); }

 private:
  /// How long one call to the broker (seek, commit, offsets, flush) may hold the loop.
  static constexpr std::chrono::seconds kFlushTimeout{5};

  // Sink: the pipeline's outputs, produced.
  void result(std::string_view key, std::string_view value) override;
  void dead_letter(const kafka::RecordView& record, std::string_view reason) override;
  /// Queues an output, waiting for room in a full queue; an error means it
  /// is lost (and nothing is checkpointed past it).
  Status produce(const std::string& topic, std::string_view key, std::string_view value,
                 const kafka::Headers& headers);

  /// Restores the units of `partitions` from their checkpoints (sets each
  /// partition's start offset); an error when the checkpoints cannot be read.
  [[nodiscard]] Status restore_units(std::vector<kafka::TopicPartition>& partitions);
  /// After lost outputs: every unit restored again from its checkpoint and
  /// its partition read on from there. False: not now (no broker), retried.
  bool rewind();
  /// Units whose input log is not the one their checkpoint was taken from.
  std::set<std::string> replaced_logs(const std::map<std::string, Checkpoint>& checkpoints,
                                      const std::map<std::string, kafka::Watermarks>& logs);
  /// Flushes outputs, writes the checkpoints of `units` that changed, and
  /// commits their offsets.
  void checkpoint(const std::vector<UnitId>& units, bool all);
  void update_gauges();
  /// Marks the units whose partitions have records the consumer knows of and
  /// has not returned yet (Unit::inputs_waiting). Under state_mu_.
  void note_unread();
  /// Counts new producer delivery failures; true once any output was lost.
  bool count_delivery_failures();
  void apply_stats();
  /// The broker is another cluster: reads every input partition from the
  /// start of its new log.
  void on_cluster_changed(const kafka::ClusterChange& change);
  std::optional<Stream> stream_of(std::string_view topic) const { return pipeline_.stream_of(topic); }

  const Config& cfg_;
  const Registry& registry_;
  const Clock& clock_;
  std::unique_ptr<Metrics> metrics_;
  kafka::Producer producer_;
  kafka::Consumer consumer_;
  kafka::Admin admin_;
  kafka::Consumer reader_;  // assign only: checkpoints, and logs checked against them
  kafka::ClusterWatch cluster_;  // asks admin_
  kafka::ConsumerHealth health_;
  kafka::DeadLetters dead_letters_;
  CheckpointStore store_;
  Pipeline pipeline_;  // owns the units, labels and the record path
  const std::map<UnitId, std::unique_ptr<Unit>>& units_;  // pipeline_'s
  const std::vector<std::string>& topics_;                // subscribed: pipeline_'s
  std::uint64_t delivery_failures_seen_ = 0;
  bool outputs_lost_ = false;
  /// Assigned partitions whose checkpoints could not be read yet: they
  /// have no unit, and rewind() restores them with the others.
  std::set<UnitId> unrestored_;
  /// A rewind that failed is tried again from then on.
  MonotonicTime next_rewind_{};
  const std::atomic<bool>* stop_ = nullptr;  // run()'s
  /// Since when checkpoints wait for outputs the broker has not acknowledged.
  std::optional<MonotonicTime> outputs_waiting_since_;
  /// Held by the poll thread while it changes engines, and by queries.
  mutable std::mutex state_mu_;
};

}  // namespace ioc::aggregator
