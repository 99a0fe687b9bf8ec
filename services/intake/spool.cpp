#include "spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/crc.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "ioc/core/config_error.hpp"
#include "ioc/core/log.hpp"

#include "spool_format.hpp"

namespace ioc::intake {

namespace fs = std::filesystem;

using namespace spool_format;

Spool::Spool(SpoolOptions options) : opts_(std::move(options)) {
  recover();
  writer_ = std::thread([this] { writer_loop(); });
}

Spool::~Spool() { close(); }

void Spool::append(std::string payload, OnAppended done, bool held) {
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      queue_.push_back({std::move(payload), std::move(done), false, held});
      cv_.notify_one();
      return;
    }
  }
  done(unavailable("the spool is closed"), 0);
}

void Spool::settle(std::uint64_t seq) {
  std::lock_guard lock(mu_);
  Entry* e = find(seq);
  if (e == nullptr || e->state == State::kDone) return;
  if (e->state == State::kHeld) --held_;
  e->state = State::kDone;
  ++done_;
  // In memory at once, so the replayer never sends it; on disk with the
  // next group commit (lost only with a crash before it: then the report is
  // replayed after the restart, as any record not known delivered).
  cursor_ = pop_delivered();
  delete_delivered_segments();
  if (closing_) return;
  std::string mark(8, '\0');
  put64(mark.data(), seq);
  queue_.push_back({std::move(mark), {}, true, false});
  cv_.notify_one();
}

void Spool::release(std::uint64_t seq) {
  std::lock_guard lock(mu_);
  Entry* e = find(seq);
  if (e == nullptr || e->state != State::kHeld) return;
  --held_;
  e->state = State::kReady;
}

// Under mu_.
Spool::Entry* Spool::find(std::uint64_t seq) {
  auto it = std::lower_bound(undelivered_.begin(), undelivered_.end(), seq,
                             [](const Entry& e, std::uint64_t s) { return e.seq < s; });
  return it != undelivered_.end() && it->seq == seq ? &*it : nullptr;
}

// Under mu_. Everything before the first record not delivered is: the
// cursor may move up to it, or just past the last record dropped.
std::uint64_t Spool::pop_delivered() {
  std::uint64_t next = cursor_;
  while (!undelivered_.empty() && undelivered_.front().state == State::kDone) {
    next = std::max(next, undelivered_.front().seq + 1);
    undelivered_.pop_front();
    --done_;
  }
  if (!undelivered_.empty()) next = std::max(next, undelivered_.front().seq);
  return next;
}

void Spool::writer_loop() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing, nothing left
      std::size_t bytes = 0;
      while (!queue_.empty() && (batch.empty() || bytes + queue_.front().payload.size() <= kBatchBytes)) {
        bytes += queue_.front().payload.size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<char> accepted;
    std::vector<Entry> written;
    const Status s = write_batch(batch, accepted, written);
    {
      std::lock_guard lock(mu_);
      for (Entry& e : written) {
        if (e.state == State::kHeld) ++held_;
        undelivered_.push_back(std::move(e));
      }
    }
    std::size_t next = 0;  // `written` holds the accepted reports, in order
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].mark) {
        if (!s.ok() || !accepted[i]) {
          log::warn("spool: a delivered mark was not written; after a restart its report is sent again",
                    {{"error", s.ok() ? "refused" : s.error().message}});
        }
        continue;
      }
      if (s.ok() && accepted[i]) {
        batch[i].done(Status{}, written[next++].seq);
        continue;
      }
      {
        std::lock_guard lock(mu_);
        ++failed_;
      }
      batch[i].done(s.ok() ? Status(unavailable("the spool is full (intake.spool.max_bytes " +
                                                std::to_string(opts_.max_bytes) + " bytes)"))
                           : s,
                    0);
    }
  }
}

// Writes the records that fit, in order; `accepted` says which did and
// `written` gets the entries of the reports among them. A report that does
// not fit is refused and so is every report after it (the spool keeps
// their order); marks always fit.
Status Spool::write_batch(std::vector<Pending>& batch, std::vector<char>& accepted, std::vector<Entry>& written) {
  accepted.assign(batch.size(), 0);
  if (!active_ || active_->size >= opts_.segment_bytes) {
    if (Status s = open_segment(next_seq_); !s.ok()) return s;
  }
  std::uint64_t total = 0;
  {
    std::lock_guard lock(mu_);
    total = bytes_;
  }
  std::string buf;
  std::uint64_t seq = next_seq_;
  bool full = false;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const Pending& p = batch[i];
    const std::uint64_t rec = kHeaderBytes + p.payload.size();
    if (!p.mark && (full || p.payload.size() > kMaxPayloadBytes || total + buf.size() + rec > opts_.max_bytes)) {
      if (p.payload.size() <= kMaxPayloadBytes) full = true;
      continue;
    }
    const std::uint8_t kind = p.mark ? kSettled : kReport;
    char h[kHeaderBytes] = {};
    std::memcpy(h, kMagic, 4);
    put32(h + 4, static_cast<std::uint32_t>(p.payload.size()));
    put64(h + 8, seq);
    put32(h + 16, checksum(h + 8, kind, p.payload));
    h[kKindAt] = static_cast<char>(kind);
    if (!p.mark) {
      written.push_back({seq, active_, active_->size + buf.size() + kHeaderBytes,
                         static_cast<std::uint32_t>(p.payload.size()), p.held ? State::kHeld : State::kReady});
    }
    accepted[i] = 1;
    buf.append(h, kHeaderBytes);
    buf += p.payload;
    ++seq;
  }
  if (full) {
    std::lock_guard lock(mu_);
    full_ = true;
  }
  if (buf.empty()) return {};
  Status s = write_all(active_->fd, buf.data(), buf.size(), active_->size, active_->path);
  if (s.ok() && ::fdatasync(active_->fd) != 0) {
    s = unavailable("cannot sync spool segment " + active_->path + ": " + errno_text());
  }
  if (!s.ok()) {
    // Leave the segment as it was, so the records before stay readable.
    if (::ftruncate(active_->fd, static_cast<off_t>(active_->size)) != 0) {
      log::error("spool: cannot cut back a failed write", {{"file", active_->path}, {"error", errno_text()}});
    }
    written.clear();
    return s;
  }
  active_->size += buf.size();
  active_->last_seq = seq - 1;
  next_seq_ = seq;
  std::lock_guard lock(mu_);
  bytes_ += buf.size();
  return {};
}

Status Spool::open_segment(std::uint64_t first_seq) {
  auto seg = std::make_shared<Segment>();
  seg->path = opts_.dir + "/" + segment_name(first_seq);
  seg->first_seq = first_seq;
  seg->fd = ::open(seg->path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (seg->fd < 0) return unavailable("cannot create spool segment " + seg->path + ": " + errno_text());
  if (Status s = sync_dir(opts_.dir); !s.ok()) return s;
  std::lock_guard lock(mu_);
  segments_[first_seq] = seg;
  active_ = seg;
  delete_delivered_segments();
  return {};
}

Result<std::vector<SpooledRecord>> Spool::peek(std::size_t max, std::uint64_t after_seq) const {
  std::vector<Entry> entries;
  {
    std::lock_guard lock(mu_);
    auto it = std::upper_bound(undelivered_.begin(), undelivered_.end(), after_seq,
                               [](std::uint64_t s, const Entry& e) { return s < e.seq; });
    for (; it != undelivered_.end() && entries.size() < max; ++it) {
      if (it->state == State::kHeld) break;  // its original may still arrive
      if (it->state == State::kReady) entries.push_back(*it);
    }
  }
  std::vector<SpooledRecord> out;
  out.reserve(entries.size());
  for (const Entry& e : entries) {
    SpooledRecord r{e.seq, std::string(e.length, '\0')};
    const ssize_t n = ::pread(e.segment->fd, r.payload.data(), e.length, static_cast<off_t>(e.offset));
    if (n != static_cast<ssize_t>(e.length)) {
      return data_loss("cannot read spooled record " + std::to_string(e.seq) + " from " + e.segment->path + ": " +
                       (n < 0 ? errno_text() : "short read"));
    }
    out.push_back(std::move(r));
  }
  return out;
}

Status Spool::ack(std::uint64_t through) {
  std::uint64_t next = 0;
  {
    std::lock_guard lock(mu_);
    for (Entry& e : undelivered_) {
      if (e.seq > through) break;
      if (e.state == State::kHeld) --held_;
      if (e.state != State::kDone) ++done_;
      e.state = State::kDone;
    }
    next = std::max(pop_delivered(), through + 1);
    if (next <= cursor_) return {};
  }
  if (Status s = write_cursor(next); !s.ok()) return s;
  std::lock_guard lock(mu_);
  cursor_ = std::max(cursor_, next);
  delete_delivered_segments();
  return {};
}

Status Spool::write_cursor(std::uint64_t next) {
  const std::string tmp = opts_.dir + "/cursor.tmp";
  const std::string text = "next=" + std::to_string(next) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return unavailable("cannot write spool cursor " + tmp + ": " + errno_text());
  Status s = write_all(fd, text.data(), text.size(), 0, tmp);
  if (s.ok() && ::fsync(fd) != 0) s = unavailable("cannot sync spool cursor " + tmp + ": " + errno_text());
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), (opts_.dir + "/cursor").c_str()) != 0) {
    s = unavailable("cannot rename spool cursor: " + errno_text());
  }
  if (!s.ok()) return s;
  return sync_dir(opts_.dir);
}

// Under mu_.
void Spool::delete_delivered_segments() {
  for (auto it = segments_.begin(); it != segments_.end();) {
    const Segment& seg = *it->second;
    const bool done = it->second != active_ && (seg.last_seq == 0 || seg.last_seq < cursor_);
    if (!done) {
      ++it;
      continue;
    }
    if (::unlink(seg.path.c_str()) != 0 && errno != ENOENT) {
      log::warn("spool: cannot delete a delivered segment", {{"file", seg.path}, {"error", errno_text()}});
      ++it;
      continue;
    }
    bytes_ -= std::min(bytes_, seg.size);
    full_ = false;
    it = segments_.erase(it);
  }
}

std::uint64_t Spool::depth() const {
  std::lock_guard lock(mu_);
  return undelivered_.size() - done_;
}

std::uint64_t Spool::held() const {
  std::lock_guard lock(mu_);
  return held_;
}

std::uint64_t Spool::replayable() const {
  std::lock_guard lock(mu_);
  return undelivered_.size() - done_ - held_;
}

std::uint64_t Spool::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

bool Spool::full() const {
  std::lock_guard lock(mu_);
  return full_;
}

std::uint64_t Spool::failed_appends() const {
  std::lock_guard lock(mu_);
  return failed_;
}

void Spool::close() {
  {
    std::lock_guard lock(mu_);
    if (closing_ && !writer_.joinable()) return;
    closing_ = true;
    cv_.notify_all();
  }
  if (writer_.joinable()) writer_.join();
}

}  // namespace ioc::intake
