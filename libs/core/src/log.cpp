#include "ioc/core/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "ioc/core/clock.hpp"
#include "ioc/core/time_format.hpp"

namespace ioc::log {
namespace {

struct Sink {
  std::mutex mu;
  std::string service = "ioc";
  std::atomic<int> min_level{static_cast<int>(Level::kInfo)};
};

Sink& sink() {
  static Sink s;
  return s;
}

constexpr std::string_view level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

}  // namespace

bool parse_level(std::string_view text, Level& out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (text == level_name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void Field::append_to(std::string& out) const {
  out.push_back(',');
  append_json_string(out, key_);
  out.push_back(':');
  switch (kind_) {
    case Kind::kString: append_json_string(out, s_); break;
    case Kind::kInt: out += std::to_string(i_); break;
    case Kind::kBool: out += i_ != 0 ? "true" : "false"; break;
    case Kind::kDouble:
      if (std::isfinite(d_)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", d_);
        out += buf;
      } else {
        out += "null";
      }
      break;
  }
}

void init(std::string service, Level min_level) {
  Sink& s = sink();
  std::lock_guard lock(s.mu);
  s.service = std::move(service);
  s.min_level.store(static_cast<int>(min_level));
}

bool enabled(Level level) { return static_cast<int>(level) >= sink().min_level.load(std::memory_order_relaxed); }

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  Sink& s = sink();
  std::string line;
  line.reserve(160);
  line += "{\"ts\":\"";
  line += format_rfc3339(SystemClock::instance().now());
  line += "\",\"level\":\"";
  line += level_name(level);
  line += "\",\"service\":";
  {
    std::lock_guard lock(s.mu);
    append_json_string(line, s.service);
  }
  line += ",\"msg\":";
  append_json_string(line, msg);
  for (const Field& f : fields) f.append_to(line);
  line += "}\n";
  // One write(2) per line: lines from different threads never interleave.
  std::size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace ioc::log
