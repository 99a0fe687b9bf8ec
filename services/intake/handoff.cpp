#include "handoff.hpp"

#include <algorithm>
#include <vector>

#include "ioc/core/log.hpp"

namespace ioc::intake {

/// One submitted report, from produce() to its answer and, when it was
/// spooled held, to its original's outcome.
struct Handoff::Parcel {
  enum class Stage {
    kInFlight,  // produced; answered by its outcome, or spooled held at its deadline
    kSpooling,  // past its deadline, its held spool append not on disk yet
    kHeld,      // answered "queued"; the spool holds `seq` until the outcome
    kDone,
  };
  Outgoing r;
  Answer answer;  // empty once answered
  TimePoint deadline{};
  Stage stage = Stage::kInFlight;
  std::uint64_t seq = 0;
  std::optional<kafka::DeliveryReport> outcome;  // the original's, when it came while spooling
};

namespace {

// Takes the answer out, so it runs once (under the Handoff's mutex).
Handoff::Answer take(Handoff::Answer& a) {
  Handoff::Answer out = std::move(a);
  a = nullptr;
  return out;
}

void log_not_acknowledged(const Outgoing& r, const kafka::DeliveryReport& d, std::string_view then) {
  log::warn("report not acknowledged by the broker", {{"id", r.id},
                                                      {"request_id", r.request_id},
                                                      {"error", d.status.error().message},
                                                      {"possibly_stored", d.possibly_persisted},
                                                      {"then", then}});
}

}  // namespace

Handoff::Handoff(Outlet& outlet, Spool* spool, const Clock& clock, HandoffOptions options, HandoffHooks hooks)
    : outlet_(outlet), spool_(spool), clock_(clock), opts_(options), hooks_(std::move(hooks)) {
  if (spool_ == nullptr) return;
  ReplayHooks replay;
  replay.delivered = hooks_.delivered;
  replay.replayed = hooks_.replayed;
  replay.empty = [this] { on_spool_empty(); };
  replay.topic_known = hooks_.topic_known;
  replay.stored = hooks_.stored;
  replay.skipped = hooks_.skipped;
  replayer_ = std::make_unique<SpoolReplayer>(
      outlet_, *spool_, clock_, ReplayOptions{.batch = opts_.replay_batch, .backoff = opts_.replay_backoff},
      std::move(replay));
}

Handoff::~Handoff() { stop(); }

void Handoff::submit(Outgoing report, Answer answer) {
  auto p = std::make_shared<Parcel>();
  p->r = std::move(report);
  p->answer = std::move(answer);
  if (spool_ != nullptr) {
    // While anything waits in the spool, new reports queue behind it: the
    // broker gets them in the order they were accepted, and while it is slow
    // (held reports) a reporter is answered at once, not at the deadline.
    bool appending = false;
    {
      std::lock_guard lock(mu_);
      appending = appending_ > 0;
    }
    if (appending || spool_->depth() > 0) return spool_it(p, "reports are waiting in the spool");
  }
  if (!outlet_.reachable()) {
    if (spool_ != nullptr) return spool_it(p, "kafka brokers unreachable");
    return p->answer({Verdict::Kind::kBrokerUnavailable, "kafka brokers unreachable"});
  }
  if (spool_ != nullptr) {
    std::lock_guard lock(mu_);
    p->deadline = clock_.now() + opts_.answer_deadline;
    if (deadlines_.empty()) deadline_cv_.notify_all();
    deadlines_.push_back(p);
  }
  const Status queued =
      outlet_.produce(p->r.key, p->r.bytes, [this, p](const kafka::DeliveryReport& d) { on_delivery(p, d); });
  if (queued.ok()) return;
  {
    std::lock_guard lock(mu_);
    p->stage = Parcel::Stage::kDone;  // no callback will come
  }
  if (spool_ != nullptr) return spool_it(p, queued.error().message);
  p->answer({Verdict::Kind::kBrokerUnavailable, queued.error().message});
}

void Handoff::on_delivery(const std::shared_ptr<Parcel>& p, const kafka::DeliveryReport& d) {
  Answer answer;
  Parcel::Stage was{};
  {
    std::lock_guard lock(mu_);
    was = p->stage;
    switch (p->stage) {
      case Parcel::Stage::kInFlight:
        p->stage = Parcel::Stage::kDone;
        if (d.status.ok() || spool_ == nullptr) answer = take(p->answer);
        break;
      case Parcel::Stage::kSpooling:
        // Its held copy is being written: on_held() settles or releases it.
        p->outcome = d;
        if (d.status.ok()) answer = take(p->answer);  // on the broker already
        break;
      case Parcel::Stage::kHeld:
        p->stage = Parcel::Stage::kDone;
        break;
      case Parcel::Stage::kDone:
        break;
    }
  }
  switch (was) {
    case Parcel::Stage::kInFlight:
      if (d.status.ok()) return answer({Verdict::Kind::kAccepted, {}});
      log_not_acknowledged(p->r, d, spool_ != nullptr ? "spooled" : "refused");
      if (spool_ == nullptr) return answer({Verdict::Kind::kBrokerUnavailable, d.status.error().message});
      return spool_it(p, d.status.error().message);
    case Parcel::Stage::kSpooling:
      if (answer) answer({Verdict::Kind::kAccepted, {}});
      return;
    case Parcel::Stage::kHeld:
      if (d.status.ok()) {
        // The report is on the topic once: its spooled copy is never sent.
        spool_->settle(p->seq);
        if (hooks_.delivered) hooks_.delivered(p->r.id);
        return wake_replayer();  // reports behind it may go now
      }
      log_not_acknowledged(p->r, d, "the spooled copy is sent");
      spool_->release(p->seq);
      return wake_replayer();
    case Parcel::Stage::kDone:
      return;
  }
}

std::optional<TimePoint> Handoff::expire() {
  const TimePoint now = clock_.now();
  std::vector<std::shared_ptr<Parcel>> due;
  std::optional<TimePoint> next;
  bool first = false;
  {
    std::lock_guard lock(mu_);
    while (!deadlines_.empty()) {
      std::shared_ptr<Parcel>& p = deadlines_.front();
      if (p->stage == Parcel::Stage::kInFlight && p->deadline > now) {
        next = p->deadline;
        break;
      }
      if (p->stage == Parcel::Stage::kInFlight) {
        p->stage = Parcel::Stage::kSpooling;
        ++appending_;
        due.push_back(p);
      }
      deadlines_.pop_front();
    }
    if (!due.empty() && !spooling_logged_) first = spooling_logged_ = true;
  }
  if (first) {
    log::warn("reports go to the spool",
              {{"why", "no acknowledgement within intake.delivery_timeout; their records stay in flight"}});
  }
  for (const auto& p : due) {
    spool_->append(
        p->r.bytes, [this, p](const Status& st, std::uint64_t seq) { on_held(p, st, seq); }, true);
  }
  return next;
}

void Handoff::on_held(const std::shared_ptr<Parcel>& p, const Status& st, std::uint64_t seq) {
  Answer answer;
  std::optional<kafka::DeliveryReport> outcome;
  {
    std::lock_guard lock(mu_);
    --appending_;
    outcome = p->outcome;
    if (!outcome) {
      // Spooled: answered "queued", held until the outcome. Not spooled:
      // neither stored nor spooled yet, so the outcome answers.
      p->stage = st.ok() ? Parcel::Stage::kHeld : Parcel::Stage::kInFlight;
      p->seq = seq;
    } else {
      p->stage = Parcel::Stage::kDone;
    }
    // An acknowledged report was answered when its acknowledgement came.
    if (outcome ? !outcome->status.ok() : st.ok()) answer = take(p->answer);
  }
  if (!st.ok()) {
    if (hooks_.spool_refused) hooks_.spool_refused();
    log::error("report not acknowledged in time, and the spool cannot take it",
               {{"id", p->r.id}, {"request_id", p->r.request_id}, {"spool", st.error().message}});
  }
  if (outcome && outcome->status.ok()) {
    if (st.ok()) spool_->settle(seq);
    if (hooks_.delivered) hooks_.delivered(p->r.id);
    if (st.ok()) wake_replayer();  // reports behind it may go now
    return;
  }
  if (st.ok() && outcome) {
    spool_->release(seq);
    wake_replayer();
  }
  if (!answer) return;
  if (st.ok()) return answer({Verdict::Kind::kQueued, {}});
  // Both failed: nothing holds the report.
  answer({Verdict::Kind::kSpoolRefused,
          outcome->status.error().message + ", and the spool cannot take it: " + st.error().message});
}

void Handoff::spool_it(const std::shared_ptr<Parcel>& p, std::string why) {
  bool first = false;
  {
    std::lock_guard lock(mu_);
    ++appending_;
    if (!spooling_logged_) first = spooling_logged_ = true;
  }
  if (first) log::warn("reports go to the spool", {{"why", why}});
  spool_->append(p->r.bytes, [this, p, why = std::move(why)](const Status& st, std::uint64_t) {
    Answer answer;
    {
      std::lock_guard lock(mu_);
      --appending_;
      p->stage = Parcel::Stage::kDone;
      answer = take(p->answer);
    }
    if (st.ok()) {
      if (log::enabled(log::Level::kDebug)) {
        log::debug("report queued in the spool", {{"id", p->r.id}, {"request_id", p->r.request_id}, {"why", why}});
      }
      wake_replayer();
      if (answer) answer({Verdict::Kind::kQueued, {}});
      return;
    }
    if (hooks_.spool_refused) hooks_.spool_refused();
    log::error("report neither delivered nor spooled",
               {{"id", p->r.id}, {"request_id", p->r.request_id}, {"broker", why}, {"spool", st.error().message}});
    if (answer) answer({Verdict::Kind::kSpoolRefused, why + ", and the spool cannot take it: " + st.error().message});
  });
}

bool Handoff::replay_step() { return replayer_ && replayer_->step(); }

void Handoff::wake_replayer() {
  if (replayer_) replayer_->wake();
}

void Handoff::on_spool_empty() {
  bool drained = false;
  {
    std::lock_guard lock(mu_);
    drained = spooling_logged_ && appending_ == 0;
    if (drained) spooling_logged_ = false;
  }
  if (drained) log::info("spool drained: reports go to the broker again");
}

void Handoff::start() {
  if (spool_ == nullptr) return;
  deadline_thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      const std::optional<TimePoint> next = expire();
      lock.lock();
      if (stop_) break;
      if (next) {
        // The clock decides what is due; the wait only paces the checks.
        deadline_cv_.wait_for(lock, std::max(Millis(1), std::chrono::duration_cast<Millis>(*next - clock_.now())));
      } else {
        deadline_cv_.wait(lock, [this] { return stop_ || !deadlines_.empty(); });
      }
    }
  });
  replayer_->start();
}

void Handoff::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  deadline_cv_.notify_all();
  if (deadline_thread_.joinable()) deadline_thread_.join();
  if (replayer_) replayer_->stop();
}

}  // namespace ioc::intake
