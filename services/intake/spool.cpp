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

namespace ioc::intake {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[4] = {'I', 'O', 'C', 'S'};
constexpr std::size_t kBatchBytes = 8u << 20;
constexpr std::size_t kKindAt = 20;  // header byte: what the record is
constexpr std::uint8_t kReport = 0;
constexpr std::uint8_t kSettled = 1;  // payload: 8 bytes, the seq of a report delivered by its original

std::string errno_text() { return std::strerror(errno); }

void put32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void put64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
std::uint32_t get32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}
std::uint64_t get64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

// Reports keep the first format's checksum (sequence number and payload);
// other kinds cover their kind byte too.
std::uint32_t checksum(const char* seq_bytes, std::uint8_t kind, std::string_view payload) {
  boost::crc_32_type crc;
  crc.process_bytes(seq_bytes, 8);
  if (kind != kReport) crc.process_byte(kind);
  crc.process_bytes(payload.data(), payload.size());
  return crc.checksum();
}

std::string segment_name(std::uint64_t first_seq) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "seg-%020llu.log", static_cast<unsigned long long>(first_seq));
  return buf;
}

// Makes a directory entry change (a new or renamed file) durable.
Status sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return unavailable("cannot open spool directory " + dir + ": " + errno_text());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return unavailable("cannot sync spool directory " + dir + ": " + std::strerror(err));
  return {};
}

Status write_all(int fd, const char* data, std::size_t n, std::uint64_t offset, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return unavailable("cannot write spool segment " + path + ": " + errno_text());
    }
    data += w;
    n -= static_cast<std::size_t>(w);
    offset += static_cast<std::uint64_t>(w);
  }
  return {};
}

}  // namespace

struct Spool::Segment {
  std::string path;
  int fd = -1;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;  // 0: no record
  std::uint64_t size = 0;
  ~Segment() {
    if (fd >= 0) ::close(fd);
  }
};

Spool::Spool(SpoolOptions options) : opts_(std::move(options)) {
  recover();
  writer_ = std::thread([this] { writer_loop(); });
}

Spool::~Spool() { close(); }

void Spool::recover() {
  std::error_code ec;
  fs::create_directories(opts_.dir, ec);
  if (ec) throw ConfigError(opts_.dir, "intake.spool.dir", "cannot create the directory: " + ec.message());
  if (::access(opts_.dir.c_str(), R_OK | W_OK | X_OK) != 0) {
    throw ConfigError(opts_.dir, "intake.spool.dir", "must be a readable and writable directory: " + errno_text());
  }

  if (std::ifstream in(opts_.dir + "/cursor"); in) {
    std::string line;
    std::getline(in, line);
    unsigned long long next = 0;
    if (std::sscanf(line.c_str(), "next=%llu", &next) == 1 && next > 0) {
      cursor_ = next;
    } else {
      log::warn("spool cursor unreadable; every spooled record will be replayed",
                {{"file", opts_.dir + "/cursor"}, {"content", line.substr(0, 64)}});
    }
  }

  std::vector<std::pair<std::uint64_t, std::string>> files;
  for (const auto& e : fs::directory_iterator(opts_.dir, ec)) {
    const std::string name = e.path().filename().string();
    unsigned long long first = 0;
    char tail[8] = {};
    if (name.size() == 28 && std::sscanf(name.c_str(), "seg-%20llu.%3s", &first, tail) == 2 &&
        std::string_view(tail) == "log") {
      files.emplace_back(first, e.path().string());
    }
  }
  if (ec) throw ConfigError(opts_.dir, "intake.spool.dir", "cannot list the directory: " + ec.message());
  std::sort(files.begin(), files.end());

  std::uint64_t max_seq = 0;
  std::vector<std::uint64_t> settled;
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto seg = std::make_shared<Segment>();
    seg->path = files[i].second;
    seg->first_seq = files[i].first;
    seg->fd = ::open(seg->path.c_str(), O_RDWR | O_CLOEXEC);
    if (seg->fd < 0) throw ConfigError(seg->path, "intake.spool.dir", "cannot open a spool segment: " + errno_text());
    scan(seg, i + 1 == files.size(), settled);
    max_seq = std::max(max_seq, seg->last_seq);
    bytes_ += seg->size;
    segments_.emplace(seg->first_seq, seg);
  }
  // Reports their original delivered after they were spooled are not replayed.
  std::sort(settled.begin(), settled.end());
  std::erase_if(undelivered_,
                [&](const Entry& e) { return std::binary_search(settled.begin(), settled.end(), e.seq); });
  next_seq_ = std::max(max_seq + 1, cursor_);
  if (!segments_.empty() && segments_.rbegin()->second->size < opts_.segment_bytes) {
    active_ = segments_.rbegin()->second;
  }
  delete_delivered_segments();
  if (!undelivered_.empty() || corrupt_ > 0) {
    log::info("spool recovered", {{"dir", opts_.dir},
                                  {"undelivered", static_cast<std::int64_t>(undelivered_.size())},
                                  {"corrupt_regions", static_cast<std::int64_t>(corrupt_)},
                                  {"next_seq", static_cast<std::int64_t>(next_seq_)}});
  }
}

void Spool::scan(const std::shared_ptr<Segment>& seg, bool last, std::vector<std::uint64_t>& settled) {
  std::string data;
  {
    std::ifstream in(seg->path, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) throw ConfigError(seg->path, "intake.spool.dir", "cannot read a spool segment");
  }
  const std::size_t n = data.size();
  // Why the bytes at `p` are not a record, or "" when they are one.
  auto invalid_at = [&](std::size_t p) -> std::string {
    if (n - p < kHeaderBytes) return "truncated header";
    const char* h = data.data() + p;
    if (std::memcmp(h, kMagic, 4) != 0) return "bad magic";
    const std::uint32_t len = get32(h + 4);
    if (len > kMaxPayloadBytes || n - p - kHeaderBytes < len) return "length past the end of the segment";
    const auto kind = static_cast<std::uint8_t>(h[kKindAt]);
    if (kind != kReport && kind != kSettled) return "unknown record kind " + std::to_string(kind);
    if (kind == kSettled && len != 8) return "bad mark length";
    if (checksum(h + 8, kind, std::string_view(h + kHeaderBytes, len)) != get32(h + 16)) return "checksum mismatch";
    return "";
  };

  std::size_t pos = 0;
  while (pos < n) {
    std::string why = invalid_at(pos);
    if (why.empty()) {
      const char* h = data.data() + pos;
      const std::uint32_t len = get32(h + 4);
      const std::uint64_t seq = get64(h + 8);
      if (static_cast<std::uint8_t>(h[kKindAt]) == kSettled) {
        settled.push_back(get64(h + kHeaderBytes));
      } else if (seq >= cursor_) {
        undelivered_.push_back({seq, seg, pos + kHeaderBytes, len});
      }
      seg->last_seq = std::max(seg->last_seq, seq);
      pos += kHeaderBytes + len;
      continue;
    }
    // Resynchronise on the next offset that holds a whole, valid record.
    std::size_t next = pos + 1;
    bool found = false;
    for (; next + kHeaderBytes <= n; ++next) {
      next = data.find(std::string_view(kMagic, 4), next);
      if (next == std::string::npos) break;
      if (invalid_at(next).empty()) {
        found = true;
        break;
      }
    }
    if (!found && last) {
      // A write cut short by a crash: it was never acknowledged.
      log::warn("spool: cutting off a torn tail",
                {{"file", seg->path}, {"offset", static_cast<std::int64_t>(pos)},
                 {"bytes", static_cast<std::int64_t>(n - pos)}, {"reason", why}});
      if (::ftruncate(seg->fd, static_cast<off_t>(pos)) != 0) {
        throw ConfigError(seg->path, "intake.spool.dir", "cannot cut off a torn tail: " + errno_text());
      }
      break;
    }
    const std::size_t end = found ? next : n;
    ++corrupt_;
    std::error_code ec;
    fs::create_directories(opts_.dir + "/corrupt", ec);
    const std::string kept = opts_.dir + "/corrupt/" + fs::path(seg->path).filename().string() + "-" +
                             std::to_string(pos) + ".bin";
    std::ofstream(kept, std::ios::binary).write(data.data() + pos, static_cast<std::streamsize>(end - pos));
    log::error("spool: corrupt record skipped; the records after it are kept",
               {{"file", seg->path}, {"offset", static_cast<std::int64_t>(pos)},
                {"bytes", static_cast<std::int64_t>(end - pos)}, {"reason", why}, {"copied_to", kept}});
    pos = end;
  }
  seg->size = std::min<std::uint64_t>(pos, n);
}

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
      full = true;
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
