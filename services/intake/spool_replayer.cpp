#include "spool_replayer.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "ioc/codec/codec.hpp"
#include "ioc/core/log.hpp"

namespace ioc::intake {

/// The records of one round in flight.
struct SpoolReplayer::Batch {
  std::vector<SpooledRecord> records;
  std::vector<std::string> ids;  // "" for a record that is not a report, or one stored before
  std::vector<char> ok;
  std::size_t skipped = 0;  // stored before: settled unsent
  std::size_t pending = 0;  // outcomes not in yet (under mu_)
};

SpoolReplayer::SpoolReplayer(Outlet& outlet, Spool& spool, const Clock& clock, ReplayOptions options,
                             ReplayHooks hooks)
    : outlet_(outlet), spool_(spool), clock_(clock), opts_(options), hooks_(std::move(hooks)) {}

SpoolReplayer::~SpoolReplayer() { stop(); }

bool SpoolReplayer::step() {
  std::shared_ptr<Batch> done;
  {
    std::lock_guard lock(mu_);
    if (batch_) {
      if (batch_->pending > 0) return false;
      done = std::move(batch_);
      batch_.reset();
    } else if (retry_at_ && clock_.now() < *retry_at_) {
      return false;
    }
  }
  if (done) {
    finish(done);
    return true;
  }
  if (spool_.depth() == 0) {
    if (hooks_.empty) hooks_.empty();
    return false;
  }
  if (spool_.replayable() == 0 || !outlet_.reachable()) return false;
  if (hooks_.topic_known && !hooks_.topic_known()) return false;
  auto records = spool_.peek(opts_.batch);
  if (!records.ok()) {
    log::error("spool unreadable; replay paused", {{"error", records.error().message}});
    std::lock_guard lock(mu_);
    retry_at_ = clock_.now() + opts_.backoff;
    return false;
  }
  if (records->empty()) return false;  // the oldest one's original is still on its way
  auto b = std::make_shared<Batch>();
  b->records = std::move(*records);
  const std::size_t n = b->records.size();
  b->ids.resize(n);
  b->ok.assign(n, 0);
  b->pending = n;
  {
    std::lock_guard lock(mu_);
    retry_at_.reset();
    batch_ = b;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const SpooledRecord& rec = b->records[i];
    // Settled without being sent: the record cannot be a report, or is stored.
    auto settle_unsent = [&](bool stored_before) {
      std::lock_guard lock(mu_);
      b->ok[i] = 1;
      if (stored_before) ++b->skipped;
      --b->pending;
    };
    Report r;
    if (Status st = codec::decode(rec.payload, r); !st.ok()) {
      // Checksummed, so not corruption on disk: a record this build cannot
      // read. It cannot be delivered as a report; keep it visible.
      log::error("spooled record is not a report; skipped",
                 {{"seq", static_cast<std::int64_t>(rec.seq)}, {"error", st.error().message}});
      settle_unsent(false);
      continue;
    }
    if (hooks_.stored && hooks_.stored(r)) {
      settle_unsent(true);
      continue;
    }
    b->ids[i] = r.id;
    const Status q = outlet_.produce(r.district, rec.payload, [this, b, i](const kafka::DeliveryReport& d) {
      std::lock_guard lock(mu_);
      b->ok[i] = d.status.ok() ? 1 : 0;
      if (--b->pending == 0) cv_.notify_all();
    });
    if (!q.ok()) {
      std::lock_guard lock(mu_);
      --b->pending;
    }
  }
  return true;
}

void SpoolReplayer::finish(const std::shared_ptr<Batch>& b) {
  // The delivered prefix moves the spool's cursor; a record delivered past
  // a failed one is settled, so the next round (from the failed one) does
  // not send it again.
  const std::size_t n = b->records.size();
  std::size_t prefix = 0;
  while (prefix < n && b->ok[prefix]) ++prefix;
  std::size_t delivered = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!b->ok[i]) continue;
    if (i >= prefix) spool_.settle(b->records[i].seq);
    if (b->ids[i].empty()) continue;
    ++delivered;
    if (hooks_.delivered) hooks_.delivered(b->ids[i]);
  }
  if (delivered > 0 && hooks_.replayed) hooks_.replayed(delivered);
  if (b->skipped > 0 && hooks_.skipped) hooks_.skipped(b->skipped);
  if (prefix > 0) {
    if (Status st = spool_.ack(b->records[prefix - 1].seq); !st.ok()) {
      log::error("spool cursor not written; delivered records may be sent again after a restart",
                 {{"error", st.error().message}});
    }
  }
  if (prefix < n) {
    log::warn("spool replay interrupted; retrying", {{"delivered", static_cast<std::int64_t>(delivered)},
                                                     {"remaining", static_cast<std::int64_t>(spool_.depth())}});
    std::lock_guard lock(mu_);
    retry_at_ = clock_.now() + opts_.backoff;
  }
}

void SpoolReplayer::wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

std::optional<TimePoint> SpoolReplayer::retry_at() const {
  std::lock_guard lock(mu_);
  return retry_at_;
}

void SpoolReplayer::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    const bool did = step();
    lock.lock();
    if (did || stop_) continue;
    const auto woken = [this] { return stop_ || wake_ || (batch_ && batch_->pending == 0); };
    if (retry_at_ && !batch_) {
      // The backoff timer: the clock decides what is due; the wait only paces.
      cv_.wait_for(lock, std::max(Millis(1), std::chrono::duration_cast<Millis>(*retry_at_ - clock_.now())), woken);
    } else {
      cv_.wait(lock, woken);
    }
    wake_ = false;
  }
}

void SpoolReplayer::start() {
  thread_ = std::thread([this] { run(); });
}

void SpoolReplayer::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace ioc::intake
