#pragma once
/// ioc-alerter's run loop: the Kafka side of the Pipeline (pipeline.hpp,
/// no Kafka), which evaluates the rules over ioc.aggregates.v1 and decides
/// every alert transition. This class owns the consumer (early revisions
/// and finals of every partition), the producer (the Pipeline's Sink:
/// ioc.alerts.v1, key fingerprint, and dead letters), the checkpoint writer
/// (a local file, so it outlives an embedded broker that restarts empty),
/// reading ioc.alerts.v1 back at start, the broker's health (lag,
/// readiness) and what the broker losing its logs asks for.
///
/// One alerter reads all partitions itself (assign, not a consumer group
/// share): a series' windows are keyed by window start, so they spread over
/// every partition, and silence can only be judged with all of them.
///
/// run() owns everything on its thread; readiness(), replace_rules() and
/// reload_rejected() are thread-safe.

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

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
#include "pipeline.hpp"

namespace prometheus {
class Registry;
}

namespace ioc::alerter {

struct Metrics;

class Alerter : public kafka::RebalanceListener, private Sink {
 public:
  /// `views`, `registry`, `clock`, the channels and `box` must outlive the
  /// Alerter.
  Alerter(const Config& cfg, rules::RuleSet rules, const views::Catalog& views, const Registry& registry,
          const Clock& clock, prometheus::Registry& metrics, std::vector<AlertChannel*> channels, AlertViewBox& box);
  ~Alerter() override;

  /// Restores, then reads, evaluates and publishes until `stop`; then
  /// checkpoints and closes. False when it had to stop on its own.
  [[nodiscard]] bool run(const std::atomic<bool>& stop);
  metrics::Readiness readiness() const;

  /// Replaces the rules (SIGHUP), from any thread; applied by run() between
  /// batches. Alerts of rules that no longer exist are resolved.
  void replace_rules(rules::RuleSet rules) { pipeline_.replace_rules(std::move(rules)); }
  /// Counts a reload whose rule files were rejected (the old rules stay).
  void reload_rejected() { pipeline_.reload_rejected(); }

  void on_assigned(std::vector<kafka::TopicPartition>& partitions) override;
  void on_revoked(const std::vector<kafka::TopicPartition>& partitions) override;
  void on_error(const kafka::ConsumerError& error) override { health_.on_error(error); }
  void on_stats(const kafka::ConsumerStats& stats) override { health_.on_stats(stats); }

 private:
  // Sink: the pipeline's outputs.
  void publish(const AlertEvent& e) override;
  void dead_letter(const kafka::RecordView& record, std::string_view reason) override;
  void checkpoint(const Checkpoint& c, bool commit) override;
  void save_history(std::string bytes) override;
  void save_ledger(std::string bytes) override;

  /// Reads ioc.alerts.v1 from its start to its end: the last event per fingerprint.
  std::map<std::string, AlertEvent> read_published();
  bool try_assign();
  /// Asks the cluster for its id; a new one means the broker lost every log
  /// (then logs_lost() with a re-read). True when it changed.
  bool check_cluster();
  /// The broker is another cluster: logs_lost().
  void new_cluster(const kafka::ClusterChange& change, bool reread = true);
  /// The broker lost its logs: the pipeline starts over and, with `reread`,
  /// every partition is read again from its start (records written into
  /// the new log before this alerter fetched again would otherwise be
  /// skipped).
  void logs_lost(const std::string& why, bool reread);
  void apply_stats();

  const Config& cfg_;
  const Clock& clock_;
  std::unique_ptr<Metrics> metrics_;
  kafka::Producer producer_;
  kafka::DeadLetters dead_letters_;
  kafka::Consumer consumer_;
  std::unique_ptr<CheckpointWriter> writer_;
  std::unique_ptr<CheckpointWriter> history_writer_;  // episodes.history
  std::unique_ptr<CheckpointWriter> ledger_writer_;   // kpi.ledger
  std::unique_ptr<kafka::Admin> admin_;
  kafka::ClusterWatch cluster_;  // asks admin_ (once it exists)
  kafka::ConsumerHealth health_;
  AlertViewBox& box_;
  Pipeline pipeline_;
  int partitions_ = 0;
  std::string scratch_;
};

}  // namespace ioc::alerter
