#pragma once
// Reading a rule file's YAML with diagnostics (file:line:column, field,
// message) and the small text helpers of the rule parser. Private to the
// library: parse.cpp and rule_reader.cpp.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ioc/config/source.hpp"
#include "ioc/rules/parse.hpp"

namespace ioc::rules::detail {

inline std::string join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

inline std::string join(const std::set<std::string>& v) { return join(std::vector<std::string>(v.begin(), v.end())); }

inline bool is_identifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

inline std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

inline bool upward(Op op) { return op == Op::kGt || op == Op::kGe; }
/// Collects diagnostics for one file.
class Reader {
 public:
  Reader(std::string file, std::vector<Diagnostic>& out) : file_(std::move(file)), out_(out) {}

  void error(const YAML::Node& at, const std::string& field, const std::string& message) {
    Diagnostic d{file_, 0, 0, field, message};
    if (at.IsDefined() && !at.Mark().is_null()) {
      d.line = at.Mark().line + 1;
      d.column = at.Mark().column + 1;
    }
    out_.push_back(std::move(d));
  }
  void error_at(int line, int column, const std::string& field, const std::string& message) {
    out_.push_back({file_, line, column, field, message});
  }

  std::optional<std::string> scalar(const YAML::Node& n, const std::string& field, const std::string& what) {
    if (!n.IsScalar()) {
      error(n, field, "must be " + what);
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::optional<Millis> duration(const YAML::Node& n, const std::string& field) {
    auto s = scalar(n, field, "a duration like 30s, 5m, 1h or 1d");
    if (!s) return std::nullopt;
    auto d = config::Source::parse_duration(*s);
    if (!d) {
      error(n, field, "must be a duration like 30s, 5m, 1h or 1d, got '" + *s + "'");
      return std::nullopt;
    }
    return *d;
  }

  std::optional<double> number(const YAML::Node& n, const std::string& field) {
    auto s = scalar(n, field, "a number");
    if (!s) return std::nullopt;
    double v = 0;
    const std::string t = trim(*s);
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size() || !std::isfinite(v)) {
      error(n, field, "must be a number, got '" + *s + "'");
      return std::nullopt;
    }
    return v;
  }

  std::optional<Comparison> comparison(const YAML::Node& n, const std::string& field) {
    static const std::string kWhat = "a comparison like '>= 20' (one of >, <, >=, <= and a number)";
    auto s = scalar(n, field, kWhat);
    if (!s) return std::nullopt;
    std::string_view t = *s;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
    Comparison c;
    std::size_t len = 0;
    if (t.starts_with(">=")) c.op = Op::kGe, len = 2;
    else if (t.starts_with("<=")) c.op = Op::kLe, len = 2;
    else if (t.starts_with(">")) c.op = Op::kGt, len = 1;
    else if (t.starts_with("<")) c.op = Op::kLt, len = 1;
    if (len == 0) {
      error(n, field, "must be " + kWhat + ", got '" + *s + "'");
      return std::nullopt;
    }
    const std::string num = trim(t.substr(len));
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), c.value);
    if (num.empty() || ec != std::errc() || p != num.data() + num.size() || !std::isfinite(c.value)) {
      error(n, field, "must be " + kWhat + ", got '" + *s + "'");
      return std::nullopt;
    }
    return c;
  }

  std::optional<std::vector<std::string>> string_list(const YAML::Node& n, const std::string& field) {
    if (n.IsScalar()) return std::vector<std::string>{n.Scalar()};
    if (!n.IsSequence()) {
      error(n, field, "must be a string or a list of strings");
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (const auto& item : n) {
      if (!item.IsScalar()) {
        error(item, field, "must be a string or a list of strings");
        return std::nullopt;
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

  /// Reports keys of mapping `n` not in `allowed`.
  void only_keys(const YAML::Node& n, const std::string& field, const std::vector<std::string>& allowed) {
    for (const auto& kv : n) {
      const std::string k = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        error(kv.first, field + (field.empty() ? "" : ".") + k, "unknown key; allowed: " + join(allowed));
      }
    }
  }

  /// Reports every key that appears twice in one mapping, anywhere under
  /// `n`: YAML forbids it, and the parser would silently keep only the first.
  void unique_keys(const YAML::Node& n, const std::string& field) {
    if (n.IsMap()) {
      std::vector<std::pair<std::string, int>> seen;
      for (const auto& kv : n) {
        const std::string k = kv.first.Scalar();
        const std::string at = field + (field.empty() ? "" : ".") + k;
        auto first = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == k; });
        if (first != seen.end()) {
          error(kv.first, at, "appears twice in this mapping (first on line " + std::to_string(first->second) +
                                  "): YAML keys must be unique, and only the first would count");
        } else {
          seen.emplace_back(k, kv.first.Mark().is_null() ? 0 : kv.first.Mark().line + 1);
        }
        unique_keys(kv.second, at);
      }
    } else if (n.IsSequence()) {
      std::size_t i = 0;
      for (const auto& item : n) unique_keys(item, field + "[" + std::to_string(i++) + "]");
    }
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<Diagnostic>& out_;
};

struct Defaults {
  Millis for_{0};
  Millis keep_firing_for{0};
  Millis grace{15'000};
  Severity severity = Severity::kWarning;
  std::vector<std::pair<std::string, std::string>> labels;
};

}  // namespace ioc::rules::detail
