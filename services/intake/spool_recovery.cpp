// Spool, recovery: reading the segments back at start, keeping every
// record that is whole and checks out, cutting a torn tail, and the
// delivery cursor.
#include "ioc/core/config_error.hpp"
#include "ioc/core/log.hpp"
#include "spool_format.hpp"

namespace ioc::intake {

namespace fs = std::filesystem;
using namespace spool_format;

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
}  // namespace ioc::intake
