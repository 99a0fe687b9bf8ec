#pragma once
/// ioc-alerter's pipeline: reads every partition of ioc.aggregates.v1
/// (early revisions and finals), feeds the rules (ioc::rules::Evaluator),
/// publishes each alert transition to ioc.alerts.v1 (key: fingerprint) and
/// hands firing and resolved states to the Notifier (Alertmanager).
///
/// One alerter reads all partitions itself (assign, not a consumer group
/// share): a series' windows are keyed by window start, so they spread over
/// every partition, and silence can only be judged with all of them.
///
/// Restarts (kill -9 included) neither re-notify firing alerts nor lose
/// resolutions: the rule state, the alert events and the input offsets they
/// cover are checkpointed to a local file (atomically, after every batch
/// that changed an alert and every checkpoint_interval); at start the
/// checkpoint is restored, ioc.alerts.v1 is read back and its newer events
/// win (a transition published after the last checkpoint), events the topic
/// lacks (a broker that restarted empty) are published again, and reading
/// resumes at the checkpoint's offsets. Until the backlog is read, results
/// are taken in but nothing is evaluated, so a replay cannot raise alerts
/// from half the data.
///
/// run() owns everything on its thread; readiness() is thread-safe.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alert_book.hpp"
#include "api.hpp"
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
#include "ioc/rules/evaluator.hpp"
#include "notifier.hpp"

namespace prometheus {
class Registry;
}

namespace ioc::alerter {

struct Metrics;

class Alerter : public kafka::RebalanceListener {
 public:
  /// `notifiers`: one per Alertmanager instance, each told every alert
  /// (none: no Alertmanager). `views`, `registry`, `clock`, the notifiers
  /// and `box` must outlive the Alerter.
  Alerter(const Config& cfg, rules::RuleSet rules, const rules::ViewCatalog& views, const Registry& registry,
          const Clock& clock, prometheus::Registry& metrics, std::vector<Notifier*> notifiers, AlertViewBox& box);
  ~Alerter() override;

  /// Restores, then reads, evaluates and publishes until `stop`; then
  /// checkpoints and closes. False when it had to stop on its own.
  [[nodiscard]] bool run(const std::atomic<bool>& stop);
  metrics::Readiness readiness() const;

  /// Replaces the rules (SIGHUP), from any thread; applied by run() between
  /// batches. Alerts of rules that no longer exist are resolved.
  void replace_rules(rules::RuleSet rules);
  /// Counts a reload whose rule files were rejected (the old rules stay).
  void reload_rejected();

  void on_assigned(std::vector<kafka::TopicPartition>& partitions) override;
  void on_revoked(const std::vector<kafka::TopicPartition>& partitions) override;
  void on_error(const kafka::ConsumerError& error) override;
  void on_stats(const kafka::ConsumerStats& stats) override;

 private:
  void restore();
  /// Reads ioc.alerts.v1 from its start to its end: the last event per fingerprint.
  std::map<std::string, AlertEvent> read_published();
  bool try_assign();
  /// Asks the cluster for its id; a new one means the broker lost every log
  /// (then logs_lost() with a re-read). True when it changed.
  bool check_cluster();
  /// The broker is another cluster: logs_lost().
  void new_cluster(const kafka::ClusterChange& change, bool reread = true);
  /// The broker lost its logs (a restarted embedded broker): the aggregator
  /// starts its revisions over and ioc.alerts.v1 is empty. Takes the new
  /// revisions, publishes the active alerts again and, with `reread`, reads
  /// every partition again from its start (records written into the new log
  /// before this alerter fetched again would otherwise be skipped).
  void logs_lost(const std::string& why, bool reread);
  void handle(const kafka::Message& m, TimePoint now);
  void dead_letter(const kafka::Message& m, const std::string& reason);
  void evaluate(TimePoint now, bool all);
  void publish(std::vector<AlertEvent>& events);
  void produce(const AlertEvent& e);
  void retry_failed();
  void resolve_orphans(TimePoint now);
  void apply_new_rules(TimePoint now);
  void resend(TimePoint now);
  /// Queues `e` at every Alertmanager instance.
  void notify(const AlertEvent& e, bool resend);
  /// Hands the state to the writer thread; `commit` also commits the
  /// offsets to the consumer group (for operators' lag views).
  void checkpoint(TimePoint now, bool commit);
  void refresh_view();
  void update_gauges();
  void apply_stats(const kafka::ConsumerStats& stats);

  const Config& cfg_;
  const rules::ViewCatalog& views_;
  const Registry& registry_;
  const Clock& clock_;
  std::unique_ptr<Metrics> metrics_;
  std::vector<Notifier*> notifiers_;
  AlertViewBox& box_;
  rules::Evaluator evaluator_;
  AlertBook book_;
  kafka::Producer producer_;
  kafka::Consumer consumer_;
  std::unique_ptr<CheckpointWriter> writer_;

  std::map<std::int32_t, std::int64_t> positions_;  // next offset to read, per partition
  std::map<std::int32_t, std::int64_t> restored_offsets_;
  std::string restored_cluster_;  // the checkpoint's cluster id
  std::unique_ptr<kafka::Admin> admin_;
  kafka::ClusterWatch cluster_;  // asks admin_ (once it exists)
  int partitions_ = 0;
  std::atomic<std::size_t> assigned_count_{0};
  bool restored_ = false;
  bool caught_up_ = false;
  std::chrono::steady_clock::time_point assigned_at_{};
  std::vector<AlertEvent> scratch_events_;
  std::string scratch_;
  bool view_dirty_ = true;
  bool checkpoint_due_ = false;
  std::uint64_t evaluations_seen_ = 0;

  std::mutex failed_mu_;
  std::vector<AlertEvent> failed_;  // publications to retry (delivery callbacks fill it)
  std::mutex rules_mu_;
  std::optional<rules::RuleSet> pending_rules_;

  std::optional<kafka::ConsumerStats> pending_stats_;
  std::set<std::int32_t> lag_exported_;
  kafka::ProgressWatch progress_;
  mutable std::mutex ready_mu_;
  std::string not_ready_;
};

}  // namespace ioc::alerter
