#pragma once
/// Structured logs: one JSON object per line on stderr, e.g.
///   {"ts":"2024-07-01T08:30:00.250Z","level":"info","service":"ioc-intake","msg":"listening","port":8080}
/// Thread-safe: each line is formatted locally and written with one call.
/// main() calls init() once; until then lines carry service "ioc".

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace ioc::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

/// Parses "debug" | "info" | "warn" | "error"; false when unknown.
bool parse_level(std::string_view text, Level& out);

/// One key/value of a log line.
class Field {
 public:
  Field(std::string_view key, std::string_view v) : key_(key), kind_(Kind::kString), s_(v) {}
  Field(std::string_view key, const char* v) : key_(key), kind_(Kind::kString), s_(v) {}
  Field(std::string_view key, const std::string& v) : key_(key), kind_(Kind::kString), s_(v) {}
  Field(std::string_view key, bool v) : key_(key), kind_(Kind::kBool), i_(v ? 1 : 0) {}
  Field(std::string_view key, double v) : key_(key), kind_(Kind::kDouble), d_(v) {}
  template <typename I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  Field(std::string_view key, I v) : key_(key), kind_(Kind::kInt), i_(static_cast<std::int64_t>(v)) {}

  void append_to(std::string& out) const;

 private:
  enum class Kind { kString, kInt, kDouble, kBool };
  std::string_view key_;
  Kind kind_;
  std::string_view s_;
  std::int64_t i_ = 0;
  double d_ = 0;
};

void init(std::string service, Level min_level);
bool enabled(Level level);
void write(Level level, std::string_view msg, std::initializer_list<Field> fields);

inline void debug(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::kDebug, msg, f); }
inline void info(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::kInfo, msg, f); }
inline void warn(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::kWarn, msg, f); }
inline void error(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::kError, msg, f); }

/// Appends `s` to `out` as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view s);

}  // namespace ioc::log
