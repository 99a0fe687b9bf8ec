#pragma once
// One rule of a rule file, read and checked against the views: the
// conditions, timers, labels and presentation (parse.cpp reads the file).

#include <cstddef>
#include <optional>
#include <vector>

#include "yaml_reader.hpp"

namespace ioc::rules::detail {

/// The file's `defaults:` block (every rule starts from it).
Defaults read_defaults(Reader& r, const YAML::Node& n);

/// Rule `index` of the file, or nothing when it has errors (reported to `r`;
/// `all`: the diagnostics so far, to tell whether this rule added any).
std::optional<Rule> read_rule(Reader& r, const views::Catalog* catalog, const Defaults& defaults,
                              const std::vector<Diagnostic>& all, const YAML::Node& n, std::size_t index);

}  // namespace ioc::rules::detail
