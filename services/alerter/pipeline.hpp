#pragma once
/// The alerter without Kafka: window results in (any kafka::RecordView of
/// ioc.aggregates.v1), rules evaluated (ioc::rules::Evaluator), alert
/// events out through a Sink (the alerts topic, dead letters, checkpoints)
/// and to every AlertChannel (Alertmanager). The Kafka-facing Alerter
/// (alerter.hpp) polls, feeds this and implements the Sink with its
/// producer and checkpoint writer; unit tests feed in-memory records
/// (ioc/kafka/fakes), record the outputs and drive a ManualClock.
///
/// Time comes from the injected Clock only: its wall-clock reading is the
/// evaluation time of a batch (what alerts are stamped with, what windows
/// and silences are judged against), its monotonic reading drives the
/// timers (evaluation of every alert, resends, checkpoints, gauges). A
/// replay drives both by setting a ManualClock to each result's time.
///
/// Restarts (kill -9 included) neither re-notify firing alerts nor lose
/// resolutions: restore() takes the checkpoint (rule state, alert events,
/// input offsets) and the events read back from ioc.alerts.v1 (newer ones
/// win); events the topic lacks are published again, alerts of rules that
/// no longer exist are resolved. Until the input's backlog is read (or
/// restore_timeout passed), results are taken in but nothing is evaluated,
/// so a replay cannot raise alerts from half the data.
///
/// CAP: each recorded event may issue its episode's next CAP message
/// (cap.hpp decides), kept in the AlertBook and told to the episode
/// history (the box's EpisodeHistory).
///
/// Inhibitions (a rule's `inhibits:`, as Alertmanager's inhibit_rules): the
/// resolution of an alert that inhibits others is held back from the
/// channels while an alert it inhibits still fires, so that Alertmanager
/// never lifts the inhibition before the targets resolved and notifies a
/// target that is about to resolve; released once they resolved, and after
/// 5 evaluation intervals at most (a target that stays firing is a real
/// alert of its own). The topic gets the resolution at once.
///
/// Not thread-safe: owned by the poll thread, except replace_rules(),
/// reload_rejected() and publication_failed(), which any thread may call.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alert_book.hpp"
#include "api.hpp"
#include "channel.hpp"
#include "checkpoint.hpp"
#include "config.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/core/registry.hpp"
#include "ioc/core/result.hpp"
#include "ioc/kafka/record.hpp"
#include "ioc/rules/evaluator.hpp"

namespace ioc::alerter {

struct Metrics;

/// Where the pipeline's records go: the Alerter's producer and checkpoint
/// writer, or a recorder in tests. Calls never block.
class Sink {
 public:
  virtual ~Sink() = default;
  /// An alert event for ioc.alerts.v1 (key: its fingerprint). One the topic
  /// does not take comes back through Pipeline::publication_failed().
  virtual void publish(const AlertEvent& e) = 0;
  /// A result set aside, with why, for the dead-letter topic.
  virtual void dead_letter(const kafka::RecordView& record, std::string_view reason) = 0;
  /// Stores `c`; `commit`: also commits its offsets to the consumer group
  /// (for operators' lag views; the checkpoint is what counts).
  virtual void checkpoint(const Checkpoint& c, bool commit) = 0;
  /// False for a sink that keeps nothing but the events (a backtest): the
  /// pipeline then takes no checkpoints and refreshes no API view or gauge,
  /// each a copy of every alert.
  virtual bool keeps_state() const { return true; }
  /// Stores the episode history (EpisodeHistory::encode()), which changed.
  virtual void save_history(std::string bytes) { (void)bytes; }
  /// Stores the KPI ledger (KpiLedger::encode()), which changed.
  virtual void save_ledger(std::string bytes) { (void)bytes; }
};

class Pipeline {
 public:
  /// `views`, `registry`, `clock`, `metrics`, `sink`, the channels and `box`
  /// must outlive the Pipeline.
  Pipeline(const Config& cfg, rules::RuleSet rules, const views::Catalog& views, const Registry& registry,
           const Clock& clock, Metrics& metrics, Sink& sink, std::vector<AlertChannel*> channels, AlertViewBox& box);
  ~Pipeline();

  // ----- restore
  /// Takes what a start finds: the checkpoint (an error: unreadable, the
  /// pipeline starts without it) and the last event of each fingerprint on
  /// ioc.alerts.v1 (nullopt: not read back). Publishes what the topic
  /// lacks, resolves alerts of rules that no longer exist, and tells the
  /// channels the current state. Starts the timers.
  void restore(const Result<std::optional<Checkpoint>>& checkpoint,
               const std::optional<std::map<std::string, AlertEvent>>& published);
  /// Input offsets of the checkpoint: where reading resumes.
  const std::map<std::int32_t, std::int64_t>& restored_offsets() const { return restored_offsets_; }
  /// Next offset to read, per partition read so far.
  const std::map<std::int32_t, std::int64_t>& positions() const { return positions_; }
  /// The cluster the input offsets belong to, once known (for checkpoints).
  void set_cluster(const std::string& id);

  // ----- input
  /// The input is about to be assigned, on `cluster` (empty: not known). A
  /// cluster other than the checkpoint's means the checkpoint's offsets
  /// point into logs that no longer exist: reading starts from the start
  /// (restored_offsets() is emptied) and no revision known is trusted.
  void assigning(const std::string& cluster);
  /// The input is assigned now: its backlog is waited for from here.
  void assigned();
  /// The consumer's backlog: evaluation starts once it is read
  /// (`caught_up`), or restore_timeout after assigned() anyway.
  void backlog(bool caught_up, std::int64_t waiting);
  /// True when `record` is below its partition's position: offsets only go
  /// back when the broker lost its log.
  bool goes_back(const kafka::RecordView& record) const;
  /// The broker lost its logs (a restarted embedded broker): the aggregator
  /// starts its revisions over and ioc.alerts.v1 is empty. Takes the new
  /// revisions, publishes the active alerts again, forgets every position.
  void logs_lost(const std::string& why);
  /// Reads the wall-clock time of the next batch.
  void begin_batch();
  /// One result of ioc.aggregates.v1.
  void handle(const kafka::RecordView& record);
  /// After each poll: publications to retry, evaluations (touched alerts
  /// after records, every alert each evaluation_interval), resends,
  /// the API's view, checkpoints and gauges when due.
  void tick(bool had_records);
  /// At shutdown: the last checkpoint (committed).
  void finish();

  // ----- from any thread
  /// Replaces the rules (SIGHUP), applied by apply_new_rules(). Alerts of
  /// rules that no longer exist are resolved.
  void replace_rules(rules::RuleSet rules);
  /// Counts a reload whose rule files were rejected (the old rules stay).
  void reload_rejected();
  /// An event the alerts topic did not take: published again unless a
  /// newer event of its alert superseded it.
  void publication_failed(const AlertEvent& e);

  /// Applies rules replaced since the last call.
  void apply_new_rules();

  const rules::Evaluator& evaluator() const { return evaluator_; }
  const AlertBook& book() const { return book_; }
  bool evaluating() const { return caught_up_; }

 private:
  void dead_letter(const kafka::RecordView& r, const std::string& reason);
  void evaluate(bool all);
  void publish(std::vector<AlertEvent>& events);
  void retry_failed();
  void resolve_orphans();
  void resend();
  void notify(const AlertEvent& e, bool resend);
  /// True when `e` resolves an alert that inhibits one still firing.
  bool inhibits_firing(const AlertEvent& e) const;
  /// Notifies the held resolutions whose targets resolved or whose time is up.
  void release_held();
  /// CAP Updates of firing episodes whose latest message has used half its validity.
  void refresh_cap();
  void record_cap(const AlertEvent& e);
  void checkpoint(bool commit);
  void refresh_view();
  void update_gauges();

  const Config& cfg_;
  const views::Catalog& views_;
  const Registry& registry_;
  const Clock& clock_;
  Metrics& metrics_;
  Sink& sink_;
  std::vector<AlertChannel*> channels_;
  AlertViewBox& box_;
  rules::Evaluator evaluator_;
  AlertBook book_;

  TimePoint now_{};  // the current batch's
  std::map<std::int32_t, std::int64_t> positions_;
  std::map<std::int32_t, std::int64_t> restored_offsets_;
  std::string checkpoint_cluster_;  // the checkpoint's
  std::string cluster_;             // the current one, once known
  bool assigned_ = false;
  bool caught_up_ = false;
  bool view_dirty_ = true;
  bool checkpoint_due_ = false;
  std::uint64_t evaluations_seen_ = 0;
  std::vector<AlertEvent> scratch_events_;
  struct Held {
    AlertEvent resolution;
    MonotonicTime until;
  };
  std::vector<Held> held_;
  MonotonicTime assigned_at_{};
  MonotonicTime last_eval_{};
  MonotonicTime last_checkpoint_{};
  MonotonicTime last_commit_{};
  MonotonicTime last_resend_{};
  MonotonicTime last_gauges_{};

  std::mutex failed_mu_;
  std::vector<AlertEvent> failed_;
  std::mutex rules_mu_;
  std::optional<rules::RuleSet> pending_rules_;
};

}  // namespace ioc::alerter
