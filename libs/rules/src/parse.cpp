#include "ioc/rules/parse.hpp"

#include <fstream>
#include <sstream>

#include "rule_reader.hpp"

namespace ioc::rules {

using detail::Reader;

const std::vector<std::string>& template_variables() {
  static const std::vector<std::string> kVars = {
      "value",      "threshold",  "clear_threshold", "value_percent", "threshold_percent",
      "rule",       "severity",   "view",            "baseline",      "members",
      "silent_for", "window_start", "window_end"};
  return kVars;
}

std::string Diagnostic::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + (column > 0 ? ":" + std::to_string(column) : "");
  return out + ": " + (field.empty() ? "" : field + ": ") + message;
}

Parsed parse_rules(std::string_view yaml, const std::string& file, const views::Catalog* catalog) {
  Parsed out;
  Reader r(file, out.errors);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    r.error_at(e.mark.line + 1, e.mark.column + 1, "", "invalid YAML: " + e.msg);
    return out;
  }
  if (!root.IsMap() || !root["rules"]) {
    r.error(root, "rules", "the file must be a mapping with a `rules:` list (and optional `defaults:`)");
    return out;
  }
  r.unique_keys(root, "");
  r.only_keys(root, "", {"defaults", "rules"});
  const detail::Defaults defaults = detail::read_defaults(r, root["defaults"]);
  const YAML::Node list = root["rules"];
  if (!list.IsSequence()) {
    r.error(list, "rules", "must be a list of rules");
    return out;
  }
  std::size_t i = 0;
  for (const auto& item : list) {
    auto rule = detail::read_rule(r, catalog, defaults, out.errors, item, i);
    if (rule) {
      const bool duplicate = std::any_of(out.rules.rules.begin(), out.rules.rules.end(),
                                         [&](const Rule& x) { return x.name == rule->name; });
      if (duplicate) {
        r.error(item["name"], "rules[" + std::to_string(i) + "] (" + rule->name + ").name",
                "another rule in this file has the same name");
      } else {
        out.rules.rules.push_back(std::move(*rule));
      }
    }
    ++i;
  }
  return out;
}

Parsed load_rules(const std::vector<std::string>& files, const views::Catalog* catalog) {
  Parsed out;
  if (files.empty()) {
    out.errors.push_back({"", 0, 0, "alerter.rules", "no rule file given"});
    return out;
  }
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      out.errors.push_back({path, 0, 0, "", "cannot open the file"});
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    Parsed one = parse_rules(ss.str(), path, catalog);
    for (auto& e : one.errors) out.errors.push_back(std::move(e));
    for (Rule& rule : one.rules.rules) {
      auto it = std::find_if(out.rules.rules.begin(), out.rules.rules.end(),
                             [&](const Rule& x) { return x.name == rule.name; });
      if (it != out.rules.rules.end()) {
        *it = std::move(rule);
      } else {
        out.rules.rules.push_back(std::move(rule));
      }
    }
  }
  // Inhibitions name rules, which may come from another file (an overlay).
  for (const Rule& rule : out.rules.rules) {
    for (const Inhibition& i : rule.inhibits) {
      if (out.rules.find(i.alertname) == nullptr) {
        out.errors.push_back({rule.where.file, rule.where.line, 0, "rules (" + rule.name + ").inhibits.alertname",
                              "no rule named '" + i.alertname + "'"});
      }
    }
  }
  return out;
}

}  // namespace ioc::rules
