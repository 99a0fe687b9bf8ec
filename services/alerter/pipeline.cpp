#include "pipeline.hpp"

#include <algorithm>

#include "cap.hpp"
#include "ioc/codec/codec.hpp"
#include "ioc/core/log.hpp"
#include "ioc/core/time_format.hpp"
#include "ioc/rules/inhibition.hpp"
#include "metrics.hpp"

namespace ioc::alerter {

namespace {

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
  o.cap_category = cap_category_for;
  return o;
}

}  // namespace

Pipeline::Pipeline(const Config& cfg, rules::RuleSet rules, const views::Catalog& views, const Registry& registry,
                   const Clock& clock, Metrics& metrics, Sink& sink, std::vector<AlertChannel*> channels,
                   AlertViewBox& box)
    : cfg_(cfg),
      views_(views),
      registry_(registry),
      clock_(clock),
      metrics_(metrics),
      sink_(sink),
      channels_(std::move(channels)),
      box_(box),
      evaluator_(std::move(rules), &views, &registry, evaluator_options(cfg)) {
  metrics_.rules.Set(static_cast<double>(evaluator_.rules().rules.size()));
  box_.history().set_limits({cfg.history_retention, cfg.history_max_episodes});
  box_.ledger().set_options({cfg.summary_view, cfg.summary_offset, cfg.history_retention});
}

Pipeline::~Pipeline() = default;

// ---------------------------------------------------------------- restore

void Pipeline::restore(const Result<std::optional<Checkpoint>>& cp,
                       const std::optional<std::map<std::string, AlertEvent>>& published) {
  const TimePoint now = clock_.now();
  if (!cp.ok()) {
    log::error("checkpoint unreadable; starting without it", {{"error", cp.error().message}});
  } else if (*cp) {
    const Checkpoint& c = **cp;
    if (c.topic == cfg_.input_topic) {
      restored_offsets_ = c.offsets;
      checkpoint_cluster_ = c.cluster_id;
    }
    if (Status s = evaluator_.restore_snapshot(c.rules); !s.ok()) {
      log::error("rule state in the checkpoint unusable; starting the rules afresh", {{"error", s.error().message}});
    }
    for (const AlertEvent& e : c.events) book_.record(e);
    for (const CapMessage& m : c.cap) book_.add_cap(m);
    log::info("checkpoint restored", {{"written_at", format_rfc3339(c.written_at)},
                                      {"partitions", c.offsets.size()},
                                      {"alerts", book_.size()},
                                      {"series", evaluator_.stats().series}});
  }
  if (published) {
    for (const auto& [fp, e] : *published) book_.record(e);  // newer ones win
  }
  // Episodes the checkpoint knew no CAP messages of (it is older, or gone)
  // start their CAP sequence from what is known; the history hears of all.
  for (const auto& [id, ep] : book_.episodes()) {
    if (ep.cap.empty() && ep.first_firing) record_cap(*ep.first_firing);
    if (ep.latest.state == AlertEvent::State::kResolved) record_cap(ep.latest);
    box_.history().record(*book_.episode(id));
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
        sink_.publish(e);
        ++healed;
      }
    }
    if (healed > 0) log::warn("alert events missing from " + cfg_.output_topic + " published again", {{"events", healed}});
  }
  // Alerts of rules that were removed or changed their grouping: resolve them.
  std::vector<AlertEvent> resolutions;
  resolutions.reserve(orphans.size());
  for (const AlertEvent& e : orphans) resolutions.push_back(ended(e, now));
  if (!resolutions.empty()) {
    log::info("resolving alerts of rules that no longer exist", {{"alerts", resolutions.size()}});
    publish(resolutions);
  }
  // The channels hear the current state at once (Alertmanager deduplicates).
  for (const AlertEvent& e : book_.notifiable(now, cfg_.alertmanager.resolved_retention)) notify(e, false);
  view_dirty_ = true;
  const MonotonicTime t = clock_.monotonic();
  last_eval_ = last_checkpoint_ = last_commit_ = last_resend_ = t;
  last_gauges_ = t - std::chrono::seconds(1);
  log::info("alert state restored", {{"active", book_.active().size()}});
}

void Pipeline::set_cluster(const std::string& id) {
  if (!id.empty()) cluster_ = id;
}

void Pipeline::assigning(const std::string& cluster) {
  set_cluster(cluster);
  if (!cluster_.empty() && !checkpoint_cluster_.empty() && checkpoint_cluster_ != cluster_) {
    log::warn("the cluster changed since the checkpoint (the broker lost its logs): reading from the start",
              {{"checkpoint_cluster", checkpoint_cluster_}, {"cluster", cluster_}});
    restored_offsets_.clear();
    evaluator_.forget_revisions();
  }
}

// ---------------------------------------------------------------- input

void Pipeline::assigned() {
  assigned_ = true;
  assigned_at_ = clock_.monotonic();
}

void Pipeline::backlog(bool caught_up, std::int64_t waiting) {
  if (caught_up_ || !assigned_) return;
  if (caught_up) {
    caught_up_ = true;
    log::info("caught up with " + cfg_.input_topic + "; evaluating rules", {{"series", evaluator_.stats().series}});
  } else if (clock_.monotonic() - assigned_at_ >= cfg_.restore_timeout) {
    caught_up_ = true;
    log::warn("still behind on " + cfg_.input_topic + " after alerter.restore_timeout; evaluating anyway",
              {{"records_waiting", waiting}});
  }
}

bool Pipeline::goes_back(const kafka::RecordView& r) const {
  auto it = positions_.find(r.partition);
  return it != positions_.end() && r.offset < it->second;
}

void Pipeline::logs_lost(const std::string& why) {
  log::warn("the broker lost its logs: taking the aggregator's new revisions and publishing the active alerts "
            "again",
            {{"why", why}});
  evaluator_.forget_revisions();
  for (const AlertEvent& e : book_.active()) sink_.publish(e);
  positions_.clear();  // every partition starts over: detect it once
  restored_offsets_.clear();
}

void Pipeline::begin_batch() { now_ = clock_.now(); }

void Pipeline::dead_letter(const kafka::RecordView& r, const std::string& reason) {
  metrics_.invalid.Increment();
  sink_.dead_letter(r, reason);
}

void Pipeline::handle(const kafka::RecordView& m) {
  positions_[m.partition] = m.offset + 1;
  WindowResult r;
  if (Status s = codec::decode(m.value, r); !s.ok()) {
    dead_letter(m, "invalid record: " + s.error().message);
    return;
  }
  // The day's figures for the summary, whether or not a rule reads them.
  if (sink_.keeps_state()) (void)box_.ledger().add(r);
  switch (evaluator_.add(r, now_)) {
    case rules::Ingest::kApplied: metrics_.applied.Increment(); return;
    case rules::Ingest::kStale: metrics_.stale.Increment(); return;
    case rules::Ingest::kExpired: metrics_.expired.Increment(); return;
    case rules::Ingest::kUnmatched: metrics_.unmatched.Increment(); return;
    case rules::Ingest::kInvalid:
      dead_letter(m, "invalid window result: a value is not finite, or the window ends before it starts (view '" +
                         r.view + "')");
      return;
  }
}

// ---------------------------------------------------------------- output

void Pipeline::evaluate(bool all) {
  scratch_events_.clear();
  const MonotonicTime t0 = clock_.monotonic();
  if (all) {
    evaluator_.evaluate_all(now_, scratch_events_);
  } else {
    evaluator_.evaluate_touched(now_, scratch_events_);
  }
  const double seconds = std::chrono::duration<double>(clock_.monotonic() - t0).count();
  (all ? metrics_.eval_all : metrics_.eval_touched).Observe(seconds);
  const std::uint64_t done = evaluator_.stats().evaluations;
  metrics_.evaluations.Increment(static_cast<double>(done - evaluations_seen_));
  evaluations_seen_ = done;
  publish(scratch_events_);
}

void Pipeline::notify(const AlertEvent& e, bool resend) {
  for (AlertChannel* c : channels_) c->notify(e, resend);
}

void Pipeline::record_cap(const AlertEvent& e) {
  const AlertBook::Episode* ep = book_.episode(e.id);
  if (ep == nullptr) return;
  if (auto m = next_cap_message(*ep, e, cfg_.cap)) book_.add_cap(*m);
  box_.history().record(*ep);
}

void Pipeline::refresh_cap() {
  std::vector<CapMessage> due;
  for (const auto& [id, ep] : book_.episodes()) {
    if (auto m = refresh_cap_message(ep, now_, cfg_.cap)) due.push_back(std::move(*m));
  }
  for (const CapMessage& m : due) {
    book_.add_cap(m);
    box_.history().record(*book_.episode(m.event.id));
    view_dirty_ = true;
    checkpoint_due_ = true;
  }
}

bool Pipeline::inhibits_firing(const AlertEvent& e) const {
  if (e.state != AlertEvent::State::kResolved) return false;
  const rules::Rule* rule = evaluator_.rules().find(e.rule);
  if (rule == nullptr || rule->inhibits.empty()) return false;
  for (const AlertEvent& target : book_.active()) {
    if (target.state != AlertEvent::State::kFiring) continue;
    for (const rules::Inhibition& i : rule->inhibits) {
      if (rules::reaches(i, e, target)) return true;
    }
  }
  return false;
}

void Pipeline::release_held() {
  if (held_.empty()) return;
  const MonotonicTime t = clock_.monotonic();
  std::erase_if(held_, [&](const Held& h) {
    const AlertEvent* latest = book_.latest(h.resolution.fingerprint);
    // A newer event (the alert fired again) supersedes the held resolution.
    if (latest == nullptr || !(*latest == h.resolution)) return true;
    if (t < h.until && inhibits_firing(h.resolution)) return false;
    notify(h.resolution, false);
    return true;
  });
}

void Pipeline::publish(std::vector<AlertEvent>& events) {
  for (const AlertEvent& e : events) {
    book_.record(e);
    record_cap(e);
    sink_.publish(e);
    metrics_.transitions.Add({{"state", to_string(e.state)}}).Increment();
    log::info("alert " + std::string(to_string(e.state)),
              {{"rule", e.rule}, {"id", e.id}, {"fingerprint", e.fingerprint}, {"revision", e.revision},
               {"value", e.value}, {"summary", e.summary}});
    if (inhibits_firing(e)) {
      held_.push_back({e, clock_.monotonic() + 5 * cfg_.evaluation_interval});
    } else if (is_notified(e)) {
      notify(e, false);
    }
    view_dirty_ = true;
    checkpoint_due_ = true;
  }
  // Targets resolved later in the same evaluation release their sources now, after them.
  release_held();
}

void Pipeline::publication_failed(const AlertEvent& e) {
  std::lock_guard lock(failed_mu_);
  failed_.push_back(e);
}

void Pipeline::retry_failed() {
  std::vector<AlertEvent> failed;
  {
    std::lock_guard lock(failed_mu_);
    failed.swap(failed_);
  }
  for (const AlertEvent& e : failed) {
    metrics_.output_errors.Increment();
    // A newer event of the alert superseded this one: publishing it now would put it last.
    const AlertEvent* latest = book_.latest(e.fingerprint);
    if (latest != nullptr && latest->id == e.id && latest->revision == e.revision) sink_.publish(e);
  }
}

void Pipeline::replace_rules(rules::RuleSet rules) {
  metrics_.reloads.Add({{"outcome", "ok"}}).Increment();
  std::lock_guard lock(rules_mu_);
  pending_rules_ = std::move(rules);
}

void Pipeline::reload_rejected() { metrics_.reloads.Add({{"outcome", "rejected"}}).Increment(); }

void Pipeline::apply_new_rules() {
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
  metrics_.rules.Set(static_cast<double>(evaluator_.rules().rules.size()));
  now_ = clock_.now();
  resolve_orphans();
  view_dirty_ = true;  // the API folds by the new rules' inhibitions
  log::info("rules replaced", {{"rules", evaluator_.rules().rules.size()}});
}

void Pipeline::resolve_orphans() {
  std::vector<AlertEvent> out;
  for (const AlertEvent& e : book_.active()) {
    if (evaluator_.restore(e)) continue;
    out.push_back(ended(e, now_));
  }
  publish(out);
}

void Pipeline::resend() {
  book_.prune(now_, cfg_.alertmanager.resolved_retention);
  box_.history().prune(now_);
  box_.ledger().prune(now_);
  view_dirty_ = true;
  if (channels_.empty()) return;
  for (const AlertEvent& e : book_.notifiable(now_, cfg_.alertmanager.resolved_retention)) {
    const bool held = std::any_of(held_.begin(), held_.end(),
                                  [&](const Held& h) { return h.resolution.fingerprint == e.fingerprint; });
    if (!held) notify(e, true);
  }
}

void Pipeline::checkpoint(bool commit) {
  checkpoint_due_ = false;
  // No flush of the alert events first: an event the checkpoint knows and
  // the topic lacks (a crash before its delivery) is published again at
  // restore, so the poll loop never waits for the broker or the disk here.
  Checkpoint c;
  c.cluster_id = cluster_.empty() ? checkpoint_cluster_ : cluster_;
  c.topic = cfg_.input_topic;
  c.offsets = positions_;
  for (const auto& [p, o] : restored_offsets_) c.offsets.try_emplace(p, o);
  c.rules = evaluator_.snapshot();
  c.events = book_.events();
  c.cap = book_.cap_messages();
  c.written_at = now_;
  sink_.checkpoint(c, commit);
  if (box_.history().take_changed()) sink_.save_history(box_.history().encode());
  if (box_.ledger().take_changed()) sink_.save_ledger(box_.ledger().encode());
}

void Pipeline::refresh_view() {
  auto view = std::make_shared<AlertView>();
  view->active = book_.active();
  view->episodes = book_.episodes();
  view->inhibitions = evaluator_.rules().inhibitions();
  box_.publish(std::move(view));
  view_dirty_ = false;
}

void Pipeline::update_gauges() {
  std::map<std::pair<std::string, std::string>, int> counts;
  for (const char* state : {"pending", "firing"}) {
    for (const char* sev : {"info", "warning", "critical"}) counts[{state, sev}] = 0;
  }
  for (const AlertEvent& e : book_.active()) ++counts[{to_string(e.state), e.severity}];
  for (const auto& [k, n] : counts) {
    metrics_.alerts.Add({{"state", k.first}, {"severity", k.second}}).Set(n);
  }
  metrics_.series.Set(static_cast<double>(evaluator_.stats().series));
}

// ---------------------------------------------------------------- timers

void Pipeline::tick(bool had_records) {
  retry_failed();
  const MonotonicTime t = clock_.monotonic();
  if (caught_up_) {
    if (had_records) evaluate(false);
    if (t - last_eval_ >= cfg_.evaluation_interval) {
      evaluate(true);
      refresh_cap();
      last_eval_ = t;
    }
  }
  release_held();
  if (t - last_resend_ >= cfg_.alertmanager.resend_interval) {
    resend();
    last_resend_ = t;
  }
  if (!sink_.keeps_state()) return;
  if (view_dirty_) refresh_view();
  // Transitions are checkpointed soon (at most once a second; the topic
  // has them meanwhile), everything else every checkpoint_interval.
  if (t - last_checkpoint_ >= cfg_.checkpoint_interval ||
      (checkpoint_due_ &&
       t - last_checkpoint_ >= std::min<std::chrono::milliseconds>(cfg_.checkpoint_interval, std::chrono::seconds(1)))) {
    const bool periodic = t - last_commit_ >= cfg_.checkpoint_interval;
    checkpoint(periodic);
    if (periodic) last_commit_ = t;
    last_checkpoint_ = t;
  }
  if (t - last_gauges_ >= std::chrono::seconds(1)) {
    update_gauges();
    last_gauges_ = t;
  }
}

void Pipeline::finish() {
  now_ = clock_.now();
  checkpoint(true);
}

}  // namespace ioc::alerter
