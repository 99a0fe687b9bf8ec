#include "alerter.hpp"

#include <algorithm>
#include <thread>

#include "checkpoint.hpp"
#include "ioc/codec/codec.hpp"
#include "ioc/core/log.hpp"
#include "ioc/core/time_format.hpp"
#include "ioc/kafka/admin.hpp"
#include "metrics.hpp"

namespace ioc::alerter {

namespace {

constexpr auto kAdminTimeout = std::chrono::seconds(5);
constexpr auto kFlushTimeout = std::chrono::seconds(5);
constexpr auto kCommitTimeout = std::chrono::seconds(2);

bool is_notified(const AlertEvent& e) {
  return e.state == AlertEvent::State::kFiring || e.state == AlertEvent::State::kResolved;
}

/// The event that ends an alert whose rule is gone: firing ones resolve,
/// pending ones turn inactive.
AlertEvent ended(const AlertEvent& e, TimePoint now) {
  AlertEvent r = e;
  r.state = e.state == AlertEvent::State::kFiring ? AlertEvent::State::kResolved : AlertEvent::State::kInactive;
  r.ends_at = now;
  r.sent_at = now;
  r.revision = e.revision + 1;
  return r;
}

rules::EvaluatorOptions evaluator_options(const Config& cfg) {
  rules::EvaluatorOptions o;
  o.update_interval = cfg.update_interval;
  return o;
}

}  // namespace

Alerter::Alerter(const Config& cfg, rules::RuleSet rules, const rules::ViewCatalog& views, const Registry& registry,
                 const Clock& clock, prometheus::Registry& metrics, std::vector<Notifier*> notifiers, AlertViewBox& box)
    : cfg_(cfg),
      views_(views),
      registry_(registry),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(metrics)),
      notifiers_(std::move(notifiers)),
      box_(box),
      evaluator_(std::move(rules), &views, &registry, evaluator_options(cfg)),
      producer_(cfg.common.kafka, kafka::Producer::Options{.linger = std::chrono::milliseconds(1),
                                                           .delivery_timeout = cfg.delivery_timeout}),
      consumer_(cfg.common.kafka,
                {.group_id = cfg.group_id, .stats_interval = cfg.stats_interval, .fetch_wait_max = cfg.fetch_wait_max},
                this),
      cluster_([this]() -> Result<std::string> {
        if (!admin_) return Error{ErrorCode::kUnavailable, "no admin client yet"};
        return admin_->cluster_id(kAdminTimeout);
      }),
      progress_("results", cfg.stall_timeout) {
  metrics_->rules.Set(static_cast<double>(evaluator_.rules().rules.size()));
  writer_ = std::make_unique<CheckpointWriter>(cfg.state_dir, [this](const Status& s) {
    if (!s.ok()) {
      metrics_->checkpoints.Add({{"outcome", "failed"}}).Increment();
      log::error("checkpoint not written", {{"error", s.error().message}, {"dir", cfg_.state_dir}});
      return;
    }
    metrics_->checkpoints.Add({{"outcome", "ok"}}).Increment();
    metrics_->checkpoint_time.Set(static_cast<double>(to_epoch_ms(clock_.now())) / 1000.0);
  });
}

Alerter::~Alerter() = default;

// ---------------------------------------------------------------- readiness and statistics

metrics::Readiness Alerter::readiness() const {
  if (assigned_count_.load() == 0) {
    return {false, "no partitions of " + cfg_.input_topic + " assigned (waiting for the broker)", {}};
  }
  std::lock_guard lock(ready_mu_);
  if (!not_ready_.empty()) return {false, not_ready_, {}};
  return {};
}

void Alerter::on_assigned(std::vector<kafka::TopicPartition>&) {}
void Alerter::on_revoked(const std::vector<kafka::TopicPartition>&) {}

void Alerter::on_error(const kafka::ConsumerError& error) {
  metrics_->consumer_errors.Add({{"error", error.code}}).Increment();
}

void Alerter::on_stats(const kafka::ConsumerStats& stats) { pending_stats_ = stats; }

void Alerter::apply_stats(const kafka::ConsumerStats& stats) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<kafka::TopicPartition> positions;
  for (const kafka::PartitionStats& st : stats.partitions) {
    if (st.topic != cfg_.input_topic) continue;
    auto it = positions_.find(st.partition);
    positions.push_back({st.topic, st.partition, it != positions_.end() ? it->second : -1});
  }
  progress_.update(stats, positions, now);
  std::set<std::int32_t> exported;
  for (const kafka::PartitionLag& l : progress_.lags()) {
    metrics_->lag.Add({{"topic", cfg_.input_topic}, {"partition", std::to_string(l.partition)}})
        .Set(static_cast<double>(l.lag));
    exported.insert(l.partition);
  }
  for (std::int32_t p : lag_exported_) {
    if (!exported.contains(p)) {
      metrics_->lag.Remove(&metrics_->lag.Add({{"topic", cfg_.input_topic}, {"partition", std::to_string(p)}}));
    }
  }
  lag_exported_ = std::move(exported);
  metrics_->broker_reachable.Set(progress_.reachable() ? 1 : 0);
  if (auto change = cluster_.observe(progress_.reachable(), now)) new_cluster(*change);
  if (!caught_up_ && assigned_count_ > 0) {
    if (progress_.caught_up()) {
      caught_up_ = true;
      log::info("caught up with " + cfg_.input_topic + "; evaluating rules",
                {{"series", evaluator_.stats().series}});
    } else if (now - assigned_at_ >= cfg_.restore_timeout) {
      caught_up_ = true;
      log::warn("still behind on " + cfg_.input_topic + " after alerter.restore_timeout; evaluating anyway",
                {{"records_waiting", progress_.waiting()}});
    }
  }
  std::lock_guard lock(ready_mu_);
  not_ready_ = progress_.verdict();
}

// ---------------------------------------------------------------- restore

std::map<std::string, AlertEvent> Alerter::read_published() {
  std::map<std::string, AlertEvent> latest;
  kafka::Admin admin(cfg_.common.kafka);
  auto topics = admin.topics(kAdminTimeout);
  if (!topics.ok()) throw std::runtime_error("topics: " + topics.error().message);
  int partitions = 0;
  for (const auto& t : *topics) {
    if (t.name == cfg_.output_topic) partitions = t.partitions;
  }
  std::vector<kafka::TopicPartition> assign;
  std::map<std::int32_t, std::int64_t> ends;
  for (std::int32_t p = 0; p < partitions; ++p) {
    auto wm = admin.watermarks(cfg_.output_topic, p, kAdminTimeout);
    if (!wm.ok()) throw std::runtime_error("watermarks: " + wm.error().message);
    if (wm->log_end > wm->log_start) {
      ends[p] = wm->log_end;
      assign.push_back({cfg_.output_topic, p, wm->log_start});
    }
  }
  if (assign.empty()) return latest;
  kafka::Consumer reader(cfg_.common.kafka, {.group_id = cfg_.group_id + ".restore"});
  reader.assign(assign);
  const auto deadline = std::chrono::steady_clock::now() + cfg_.restore_timeout;
  std::size_t records = 0;
  while (!ends.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("reading " + cfg_.output_topic + " took longer than alerter.restore_timeout");
    }
    for (const kafka::Message& m : reader.poll(1000, std::chrono::milliseconds(100))) {
      ++records;
      AlertEvent e;
      if (codec::decode(m.value(), e).ok()) {
        auto it = latest.find(e.fingerprint);
        if (it == latest.end() || newer(e, it->second)) latest[e.fingerprint] = std::move(e);
      }
      if (auto it = ends.find(m.partition()); it != ends.end() && m.offset() + 1 >= it->second) ends.erase(it);
    }
  }
  reader.close();
  log::info("read back published alerts", {{"topic", cfg_.output_topic}, {"records", records},
                                           {"fingerprints", latest.size()}});
  return latest;
}

void Alerter::restore() {
  const TimePoint now = clock_.now();
  auto cp = load_checkpoint(cfg_.state_dir);
  if (!cp.ok()) {
    log::error("checkpoint unreadable; starting without it", {{"error", cp.error().message}});
  } else if (*cp) {
    const Checkpoint& c = **cp;
    if (c.topic == cfg_.input_topic) {
      restored_offsets_ = c.offsets;
      restored_cluster_ = c.cluster_id;
    }
    if (Status s = evaluator_.restore_snapshot(c.rules); !s.ok()) {
      log::error("rule state in the checkpoint unusable; starting the rules afresh", {{"error", s.error().message}});
    }
    for (const AlertEvent& e : c.events) book_.record(e);
    log::info("checkpoint restored", {{"written_at", format_rfc3339(c.written_at)},
                                      {"partitions", c.offsets.size()},
                                      {"alerts", book_.size()},
                                      {"series", evaluator_.stats().series}});
  }
  std::optional<std::map<std::string, AlertEvent>> published;
  try {
    published = read_published();
  } catch (const std::exception& e) {
    log::warn("published alerts not read back; relying on the checkpoint", {{"error", e.what()}});
  }
  if (published) {
    for (const auto& [fp, e] : *published) book_.record(e);  // newer ones win
  }
  // The book now holds the latest known state of every alert: the rules take it.
  std::vector<AlertEvent> orphans;
  for (const AlertEvent& e : book_.events()) {
    if (book_.latest(e.fingerprint) == nullptr || !(e == *book_.latest(e.fingerprint))) continue;
    if (!evaluator_.restore(e) && (e.state == AlertEvent::State::kFiring || e.state == AlertEvent::State::kPending)) {
      orphans.push_back(e);
    }
  }
  // What the topic lacks (it restarted empty, or a publication failed before the crash) is published again.
  if (published) {
    std::size_t healed = 0;
    for (const AlertEvent& e : book_.events()) {
      const AlertEvent* mine = book_.latest(e.fingerprint);
      if (mine == nullptr || !(e == *mine)) continue;
      auto it = published->find(e.fingerprint);
      if (it == published->end() || newer(e, it->second)) {
        produce(e);
        ++healed;
      }
    }
    if (healed > 0) log::warn("alert events missing from " + cfg_.output_topic + " published again", {{"events", healed}});
  }
  // Alerts of rules that were removed or changed their grouping: resolve them.
  std::vector<AlertEvent> resolutions;
  for (const AlertEvent& e : orphans) {
    resolutions.push_back(ended(e, now));
  }
  if (!resolutions.empty()) {
    log::info("resolving alerts of rules that no longer exist", {{"alerts", resolutions.size()}});
    publish(resolutions);
  }
  // Alertmanager hears the current state at once (it deduplicates).
  if (!notifiers_.empty()) {
    for (const AlertEvent& e : book_.notifiable(now, cfg_.alertmanager.resolved_retention)) notify(e, false);
  }
  restored_ = true;
  view_dirty_ = true;
  log::info("alert state restored", {{"active", book_.active().size()}});
}

bool Alerter::try_assign() {
  if (!admin_) admin_ = std::make_unique<kafka::Admin>(cfg_.common.kafka);
  auto topics = admin_->topics(kAdminTimeout);
  if (!topics.ok()) return false;
  int partitions = 0;
  for (const auto& t : *topics) {
    if (t.name == cfg_.input_topic) partitions = t.partitions;
  }
  if (partitions == 0) return false;
  partitions_ = partitions;
  // Changed before anything was assigned: the alerts go to the new logs again.
  if (auto change = cluster_.check(std::chrono::steady_clock::now())) new_cluster(*change, false);
  if (!cluster_.id().empty() && !restored_cluster_.empty() && restored_cluster_ != cluster_.id()) {
    // The checkpoint's offsets point into logs that no longer exist.
    log::warn("the cluster changed since the checkpoint (the broker lost its logs): reading from the start",
              {{"checkpoint_cluster", restored_cluster_}, {"cluster", cluster_.id()}});
    restored_offsets_.clear();
    evaluator_.forget_revisions();
  }
  std::vector<kafka::TopicPartition> tps;
  for (std::int32_t p = 0; p < partitions; ++p) tps.push_back({cfg_.input_topic, p, kafka::TopicPartition::kOffsetBeginning});
  // Without a checkpoint, the group's committed offsets (committed with every checkpoint) are the next best.
  if (restored_offsets_.empty() && positions_.empty()) {
    auto committed = consumer_.committed(tps, kAdminTimeout);
    if (committed.ok()) {
      for (std::size_t i = 0; i < committed->size() && i < tps.size(); ++i) {
        if ((*committed)[i].offset >= 0) tps[i].offset = (*committed)[i].offset;
      }
    }
  }
  for (auto& tp : tps) {
    if (auto it = positions_.find(tp.partition); it != positions_.end()) {
      tp.offset = it->second;
    } else if (auto r = restored_offsets_.find(tp.partition); r != restored_offsets_.end()) {
      tp.offset = r->second;
    }
  }
  consumer_.assign(tps);
  assigned_count_ = tps.size();
  assigned_at_ = std::chrono::steady_clock::now();
  metrics_->assigned.Set(static_cast<double>(tps.size()));
  for (const auto& tp : tps) {
    log::info("partition assigned", {{"topic", tp.topic}, {"partition", tp.partition}, {"offset", tp.offset}});
  }
  return true;
}

bool Alerter::check_cluster() {
  auto change = cluster_.check(std::chrono::steady_clock::now());
  if (change) new_cluster(*change);
  return change.has_value();
}

void Alerter::new_cluster(const kafka::ClusterChange& change, bool reread) {
  logs_lost("the broker is a new cluster (" + change.old_id + " -> " + change.new_id + ")", reread);
}

void Alerter::logs_lost(const std::string& why, bool reread) {
  log::warn("the broker lost its logs: taking the aggregator's new revisions and publishing the active alerts "
            "again",
            {{"why", why}, {"reread", reread}});
  evaluator_.forget_revisions();
  for (const AlertEvent& e : book_.active()) produce(e);
  positions_.clear();  // every partition starts over: detect it once
  restored_offsets_.clear();
  if (reread && partitions_ > 0) {
    std::vector<kafka::TopicPartition> tps;
    for (std::int32_t p = 0; p < partitions_; ++p) {
      tps.push_back({cfg_.input_topic, p, kafka::TopicPartition::kOffsetBeginning});
    }
    consumer_.assign(tps);
  }
}

// ---------------------------------------------------------------- input

void Alerter::dead_letter(const kafka::Message& m, const std::string& reason) {
  if (Status s = producer_.produce(cfg_.deadletter_topic, m.key(), m.value(), {},
                                   m.dead_letter_headers(reason, cfg_.common.service));
      !s.ok()) {
    metrics_->output_errors.Increment();
    log::error("dead letter not queued", {{"error", s.error().message}, {"reason", reason}});
  }
}

void Alerter::handle(const kafka::Message& m, TimePoint now) {
  const std::int32_t p = m.partition();
  if (auto it = positions_.find(p); it != positions_.end() && m.offset() < it->second) {
    // Offsets only go back when the broker lost its log (the embedded broker
    // restarted): the cluster id tells for sure, and then every partition is read again.
    if (!check_cluster()) {
      logs_lost("offsets of " + std::string(m.topic()) + " [" + std::to_string(p) + "] went back from " +
                    std::to_string(it->second) + " to " + std::to_string(m.offset()),
                false);
    }
  }
  positions_[p] = m.offset() + 1;
  WindowResult r;
  if (Status s = codec::decode(m.value(), r); !s.ok()) {
    metrics_->invalid.Increment();
    dead_letter(m, "invalid record: " + s.error().message);
    return;
  }
  switch (evaluator_.add(r, now)) {
    case rules::Ingest::kApplied: metrics_->applied.Increment(); return;
    case rules::Ingest::kStale: metrics_->stale.Increment(); return;
    case rules::Ingest::kExpired: metrics_->expired.Increment(); return;
    case rules::Ingest::kUnmatched: metrics_->unmatched.Increment(); return;
    case rules::Ingest::kInvalid:
      metrics_->invalid.Increment();
      dead_letter(m, "invalid window result: a value is not finite, or the window ends before it starts (view '" +
                         r.view + "')");
      return;
  }
}

// ---------------------------------------------------------------- output

void Alerter::evaluate(TimePoint now, bool all) {
  scratch_events_.clear();
  const auto t0 = std::chrono::steady_clock::now();
  if (all) {
    evaluator_.evaluate_all(now, scratch_events_);
  } else {
    evaluator_.evaluate_touched(now, scratch_events_);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  (all ? metrics_->eval_all : metrics_->eval_touched).Observe(seconds);
  const std::uint64_t done = evaluator_.stats().evaluations;
  metrics_->evaluations.Increment(static_cast<double>(done - evaluations_seen_));
  evaluations_seen_ = done;
  publish(scratch_events_);
}

void Alerter::produce(const AlertEvent& e) {
  codec::encode(e, scratch_);
  Status s = producer_.produce(cfg_.output_topic, e.fingerprint, scratch_, [this, e](const kafka::DeliveryReport& d) {
    if (d.status.ok()) return;
    std::lock_guard lock(failed_mu_);
    failed_.push_back(e);
  });
  if (!s.ok()) {
    std::lock_guard lock(failed_mu_);
    failed_.push_back(e);
  }
}

void Alerter::publish(std::vector<AlertEvent>& events) {
  for (const AlertEvent& e : events) {
    book_.record(e);
    produce(e);
    metrics_->transitions.Add({{"state", to_string(e.state)}}).Increment();
    log::info("alert " + std::string(to_string(e.state)),
              {{"rule", e.rule}, {"id", e.id}, {"fingerprint", e.fingerprint}, {"revision", e.revision},
               {"value", e.value}, {"summary", e.summary}});
    if (is_notified(e)) notify(e, false);
    view_dirty_ = true;
    checkpoint_due_ = true;
  }
}

void Alerter::retry_failed() {
  std::vector<AlertEvent> failed;
  {
    std::lock_guard lock(failed_mu_);
    failed.swap(failed_);
  }
  for (const AlertEvent& e : failed) {
    metrics_->output_errors.Increment();
    // A newer event of the alert superseded this one: publishing it now would put it last.
    const AlertEvent* latest = book_.latest(e.fingerprint);
    if (latest != nullptr && latest->id == e.id && latest->revision == e.revision) produce(e);
  }
}

void Alerter::replace_rules(rules::RuleSet rules) {
  metrics_->reloads.Add({{"outcome", "ok"}}).Increment();
  std::lock_guard lock(rules_mu_);
  pending_rules_ = std::move(rules);
}

void Alerter::reload_rejected() { metrics_->reloads.Add({{"outcome", "rejected"}}).Increment(); }

void Alerter::apply_new_rules(TimePoint now) {
  std::optional<rules::RuleSet> next;
  {
    std::lock_guard lock(rules_mu_);
    next.swap(pending_rules_);
  }
  if (!next) return;
  rules::Evaluator fresh(std::move(*next), &views_, &registry_, evaluator_options(cfg_));
  if (Status s = fresh.restore_snapshot(evaluator_.snapshot()); !s.ok()) {
    log::error("rule state not carried over to the new rules", {{"error", s.error().message}});
  }
  evaluator_ = std::move(fresh);
  evaluations_seen_ = evaluator_.stats().evaluations;
  metrics_->rules.Set(static_cast<double>(evaluator_.rules().rules.size()));
  resolve_orphans(now);
  log::info("rules replaced", {{"rules", evaluator_.rules().rules.size()}});
}

void Alerter::resolve_orphans(TimePoint now) {
  std::vector<AlertEvent> out;
  for (const AlertEvent& e : book_.active()) {
    if (evaluator_.restore(e)) continue;
    out.push_back(ended(e, now));
  }
  publish(out);
}

void Alerter::resend(TimePoint now) {
  book_.prune(now, cfg_.alertmanager.resolved_retention);
  view_dirty_ = true;
  if (notifiers_.empty()) return;
  for (const AlertEvent& e : book_.notifiable(now, cfg_.alertmanager.resolved_retention)) notify(e, true);
}

void Alerter::notify(const AlertEvent& e, bool resend) {
  for (Notifier* n : notifiers_) n->enqueue(e, resend);
}

void Alerter::checkpoint(TimePoint now, bool commit) {
  checkpoint_due_ = false;
  // No flush of the alert events first: an event the checkpoint knows and
  // the topic lacks (a crash before its delivery) is published again at
  // restore, so the poll loop never waits for the broker or the disk here.
  Checkpoint c;
  c.cluster_id = cluster_.id().empty() ? restored_cluster_ : cluster_.id();
  c.topic = cfg_.input_topic;
  c.offsets = positions_;
  for (const auto& [p, o] : restored_offsets_) c.offsets.try_emplace(p, o);
  c.rules = evaluator_.snapshot();
  c.events = book_.events();
  c.written_at = now;
  writer_->submit(encode_checkpoint(c));
  // The group's offsets are for operators (lag, retention warnings); the checkpoint is what counts.
  if (commit && progress_.reachable() && !positions_.empty()) {
    std::vector<kafka::TopicPartition> offsets;
    for (const auto& [p, o] : positions_) offsets.push_back({cfg_.input_topic, p, o});
    if (Status s = consumer_.commit(offsets, kCommitTimeout); !s.ok()) {
      log::debug("offsets not committed", {{"error", s.error().message}});
    }
  }
}

void Alerter::refresh_view() {
  auto view = std::make_shared<AlertView>();
  view->active = book_.active();
  view->episodes = book_.episodes();
  box_.publish(std::move(view));
  view_dirty_ = false;
}

void Alerter::update_gauges() {
  std::map<std::pair<std::string, std::string>, int> counts;
  for (const char* state : {"pending", "firing"}) {
    for (const char* sev : {"info", "warning", "critical"}) counts[{state, sev}] = 0;
  }
  for (const AlertEvent& e : book_.active()) ++counts[{to_string(e.state), e.severity}];
  for (const auto& [k, n] : counts) {
    metrics_->alerts.Add({{"state", k.first}, {"severity", k.second}}).Set(n);
  }
  metrics_->series.Set(static_cast<double>(evaluator_.stats().series));
}

// ---------------------------------------------------------------- loop

bool Alerter::run(const std::atomic<bool>& stop) {
  restore();
  using Clock = std::chrono::steady_clock;
  auto last_eval = Clock::now();
  auto last_checkpoint = last_eval;
  auto last_commit = last_eval;
  auto last_resend = last_eval;
  auto last_gauges = last_eval - std::chrono::seconds(1);
  auto last_assign = last_eval - std::chrono::seconds(1);
  while (!stop.load()) {
    const auto t = Clock::now();
    if (assigned_count_ == 0 && t - last_assign >= std::chrono::seconds(1)) {
      last_assign = t;
      if (!try_assign()) log::warn("cannot assign " + cfg_.input_topic + " yet (no broker, or no topic); retrying");
    }
    apply_new_rules(clock_.now());
    const auto batch = consumer_.poll(cfg_.batch_size, std::chrono::milliseconds(100));
    const TimePoint now = clock_.now();
    for (const kafka::Message& m : batch) handle(m, now);
    if (pending_stats_) {
      apply_stats(*pending_stats_);
      pending_stats_.reset();
    }
    retry_failed();
    const auto t2 = Clock::now();
    if (caught_up_) {
      if (!batch.empty()) evaluate(now, false);
      if (t2 - last_eval >= cfg_.evaluation_interval) {
        evaluate(now, true);
        last_eval = t2;
      }
    }
    if (t2 - last_resend >= cfg_.alertmanager.resend_interval) {
      resend(now);
      last_resend = t2;
    }
    if (view_dirty_) refresh_view();
    // Transitions are checkpointed soon (at most once a second; the topic
    // has them meanwhile), everything else every checkpoint_interval.
    if (t2 - last_checkpoint >= cfg_.checkpoint_interval ||
        (checkpoint_due_ && t2 - last_checkpoint >= std::min<std::chrono::milliseconds>(cfg_.checkpoint_interval,
                                                                                         std::chrono::seconds(1)))) {
      const bool periodic = t2 - last_commit >= cfg_.checkpoint_interval;
      checkpoint(now, periodic);
      if (periodic) last_commit = t2;
      last_checkpoint = t2;
    }
    if (t2 - last_gauges >= std::chrono::seconds(1)) {
      update_gauges();
      last_gauges = t2;
    }
  }
  if (Status s = producer_.flush(kFlushTimeout); !s.ok()) {
    log::warn("alert events not acknowledged at shutdown (the checkpoint has them)", {{"error", s.error().message}});
  }
  checkpoint(clock_.now(), true);
  writer_->flush();
  consumer_.close();
  return true;
}

}  // namespace ioc::alerter
