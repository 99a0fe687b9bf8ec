#pragma once
/// Template: annotation text with {{name}} placeholders, e.g.
/// "{{value}} flood reports in {{district_name}} (threshold {{threshold}})".
/// Compiled once when the rule file is read (an unclosed "{{" or an empty
/// name is an error there, not at alert time); rendered with a lookup.
/// Immutable after compile(); thread-safe.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ioc/core/result.hpp"

namespace ioc::rules {

class Template {
 public:
  Template() = default;

  /// Parses `text`. Names are trimmed; "{{ value }}" == "{{value}}".
  [[nodiscard]] static Result<Template> compile(std::string_view text);

  /// Placeholder names, in order of appearance (with repeats).
  std::vector<std::string> names() const;
  const std::string& source() const { return source_; }
  bool empty() const { return source_.empty(); }

  /// `lookup(name)` gives a placeholder's text; nullopt renders it as "".
  std::string render(const std::function<std::optional<std::string>(std::string_view)>& lookup) const;

  friend bool operator==(const Template& a, const Template& b) { return a.source_ == b.source_; }

 private:
  struct Part {
    bool is_name = false;
    std::string text;  // literal text or the placeholder's name
  };
  std::string source_;
  std::vector<Part> parts_;
};

}  // namespace ioc::rules
