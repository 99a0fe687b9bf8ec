#pragma once
/// Reads rule files (YAML) into a RuleSet, with every problem reported at
/// once as a Diagnostic naming the file, line, column, the field and what is
/// allowed:
///
///   rules.yaml:14:11: rules[2] (FloodReportSurge).fire: must be a comparison
///   like '>= 20' (one of >, <, >=, <= and a number), got '=> 20'
///
/// With a views::Catalog, views, value names and labels are checked against
/// what the aggregator produces. The file format is documented in README.md
/// ("Alert rules") and by deploy/config/rules.yaml. Pure; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "ioc/rules/rule.hpp"
#include "ioc/views/catalog.hpp"

namespace ioc::rules {

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string field;  // e.g. "rules[2] (FloodReportSurge).fire"
  std::string message;
  /// "file:line:column: field: message".
  std::string to_string() const;
};

struct Parsed {
  RuleSet rules;
  std::vector<Diagnostic> errors;
  bool ok() const { return errors.empty(); }
};

/// Parses the text of one rule file. `catalog` may be null (no checks
/// against views).
Parsed parse_rules(std::string_view yaml, const std::string& file, const views::Catalog* catalog);

/// Reads and parses `files` in order; a rule in a later file replaces the
/// rule of the same name from an earlier one (an overlay, e.g. the demo's
/// shorter windows), keeping its position.
Parsed load_rules(const std::vector<std::string>& files, const views::Catalog* catalog);

/// The placeholders a rule's templates may use, besides its group labels
/// and `<label>_name` for labels the registry names (district, category).
const std::vector<std::string>& template_variables();

}  // namespace ioc::rules
