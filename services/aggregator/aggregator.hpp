#pragma once
/// ioc-aggregator's pipeline: the views of views.yaml over the reports,
/// transactions and telemetry topics, published to ioc.aggregates.v1 (and
/// selected values as Prometheus gauges).
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
/// Nothing is set aside silently: every record ends in a window of each
/// view it matches, or in the dead-letter topic with its reason (late for a
/// view, invalid, beyond the time bound), or is counted as unmatched (no
/// view's filter took it) or pruned (removed by retention before it was
/// read; logged).

#include <array>
#include <atomic>
#include <boost/unordered/unordered_flat_map.hpp>
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
#include "ioc/kafka/producer.hpp"
#include "ioc/kafka/progress.hpp"
#include "ioc/metrics/endpoints.hpp"
#include "ioc/window/engine.hpp"
#include "sample_ids.hpp"

namespace prometheus {
class Registry;
class Counter;
}  // namespace prometheus

namespace ioc::aggregator {

struct Metrics;

/// Group label values of a view's keys: a key is a hash of the values, the
/// same in every replica, so checkpoints move between replicas.
class GroupLabels {
 public:
  /// The key of `values` (inserting them the first time); nullopt when a
  /// different group already has this key (a 64-bit hash collision).
  std::optional<window::GroupKey> intern(std::size_t view, std::span<const std::string_view> values);
  void insert(window::GroupKey key, std::vector<std::string> values) { labels_.emplace(key, std::move(values)); }
  const std::vector<std::string>* find(window::GroupKey key) const;
  const boost::unordered_flat_map<window::GroupKey, std::vector<std::string>>& all() const { return labels_; }

 private:
  boost::unordered_flat_map<window::GroupKey, std::vector<std::string>> labels_;
};

/// Results of one view, for queries (GET /api/v1/views/{view}).
struct ViewQuery {
  std::string view;
  std::vector<std::pair<std::string, std::string>> match;  // group label = value filters
};

/// The aggregation pipeline of one replica. run() is the poll loop and owns
/// all engines; readiness(), query() and the metrics are safe from other
/// threads. Ready means: has partitions, has a broker connection, is not
/// stalled with records waiting, and has restored its state.
class Aggregator : public kafka::RebalanceListener {
 public:
  Aggregator(const Config& cfg, const Registry& registry, const Clock& clock, prometheus::Registry& metrics);
  ~Aggregator() override;

  /// Polls, aggregates and publishes until `stop` is set; then checkpoints
  /// and leaves the group. Returns false when an output record (result,
  /// dead letter or checkpoint) could not be delivered: nothing is
  /// checkpointed past it, and the process should exit so that a restart
  /// recomputes the lost outputs.
  [[nodiscard]] bool run(const std::atomic<bool>& stop);
  metrics::Readiness readiness() const;

  /// JSON: the open and last final windows of a view's groups in the
  /// partitions this replica owns. Error kNotFound for an unknown view,
  /// kInvalidArgument for a filter on a label the view does not have.
  [[nodiscard]] Result<std::string> query(const ViewQuery& q) const;

  void on_assigned(std::vector<kafka::TopicPartition>& partitions) override;
  void on_revoked(const std::vector<kafka::TopicPartition>& partitions) override;
  void on_error(const kafka::ConsumerError& error) override;
  void on_stats(const kafka::ConsumerStats& stats) override;

 private:
  struct Unit;
  using UnitId = std::pair<Stream, std::int32_t>;

  std::optional<Stream> stream_of(std::string_view topic) const;
  /// Units whose input log is not the one their checkpoint was taken from.
  std::set<std::string> replaced_logs(const std::map<std::string, Checkpoint>& checkpoints,
                                      const std::map<std::string, kafka::Watermarks>& logs);
  void handle(const kafka::Message& m);
  void set_aside(const kafka::Message& m, prometheus::Counter& counter, const std::string& reason);
  void flush_counts();
  void publish(Unit& u, std::span<const window::WindowResult> results);
  void update_gauge(Unit& u, std::size_t view, const window::WindowResult& r);
  void dead_letter(const kafka::Message& m, const std::string& reason);
  /// Flushes outputs, writes the checkpoints of `units` that changed, and
  /// commits their offsets.
  void checkpoint(const std::vector<UnitId>& units, bool all);
  Checkpoint make_checkpoint(const Unit& u) const;
  void restore(Unit& u, const Checkpoint& c);
  void drop_gauges(Unit& u);
  void update_gauges();
  /// Counts new producer delivery failures; true once any output was lost.
  bool count_delivery_failures();
  void apply_stats(const kafka::ConsumerStats& stats);
  /// The broker is another cluster: reads every input partition from the
  /// start of its new log.
  void on_cluster_changed(const kafka::ClusterChange& change);
  std::vector<UnitId> unit_ids() const;

  const Config& cfg_;
  const Registry& registry_;
  const Clock& clock_;
  std::unique_ptr<Metrics> metrics_;
  kafka::Producer producer_;
  kafka::Consumer consumer_;
  kafka::Admin admin_;
  kafka::Consumer reader_;  // assign only: checkpoints, and logs checked against them
  kafka::ClusterWatch cluster_;  // asks admin_
  kafka::ProgressWatch progress_;
  CheckpointStore store_;
  /// Global view indices (into cfg_.views) per stream, in engine order.
  std::array<std::vector<std::size_t>, kStreams> stream_views_;
  std::array<std::vector<window::ViewSpec>, kStreams> stream_specs_;
  std::array<std::uint32_t, kStreams> stream_samples_{};  // max sample_refs over the stream's views
  std::array<std::int64_t, kStreams> sample_horizon_ms_{};  // how long an evidence id may be needed
  std::vector<std::string> topics_;  // subscribed
  std::vector<GroupLabels> labels_;  // per view
  std::vector<std::size_t> gauge_series_;  // per view
  std::vector<prometheus::Counter*> view_accepted_;
  std::vector<prometheus::Counter*> view_late_;
  // Counts of the current batch, added to the counters by flush_counts().
  std::vector<std::uint64_t> view_accepted_n_;
  std::uint64_t accepted_n_ = 0;
  std::uint64_t unmatched_n_ = 0;
  std::map<UnitId, std::unique_ptr<Unit>> units_;
  Record record_;
  std::string scratch_;
  std::int64_t now_ms_ = 0;  // processing time of the current batch
  std::atomic<std::size_t> assigned_count_{0};
  std::atomic<std::size_t> restoring_count_{0};
  std::uint64_t delivery_failures_seen_ = 0;
  bool outputs_lost_ = false;

  std::optional<kafka::ConsumerStats> pending_stats_;
  std::set<UnitId> lag_exported_;
  bool broker_reachable_ = true;
  mutable std::mutex ready_mu_;
  std::string not_ready_;
  /// Held by the poll thread while it changes engines, and by queries.
  mutable std::mutex state_mu_;
};

}  // namespace ioc::aggregator
