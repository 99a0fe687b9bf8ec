#include "ioc/rules/parse.hpp"

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "rule_reader.hpp"

namespace ioc::rules {

using detail::Reader;

namespace {

// What one file cannot tell: that every rule an inhibition names exists in
// the whole set, carries the `equal` labels, and that no rules inhibit
// each other in a circle (their alerts would hide one another).
void check_inhibitions(const RuleSet& set, const views::Catalog* catalog, std::vector<Diagnostic>& errors) {
  auto labels_of = [&](const Rule& r) -> std::optional<std::vector<std::string>> {
    if (r.group_by) return r.group_by;
    if (const views::ViewConfig* v = catalog ? catalog->find(r.view) : nullptr) return v->group_names;
    return std::nullopt;
  };
  for (const Rule& rule : set.rules) {
    for (std::size_t k = 0; k < rule.inhibits.size(); ++k) {
      const Inhibition& inh = rule.inhibits[k];
      const std::string field = "rules (" + rule.name + ").inhibits[" + std::to_string(k) + "]";
      for (const std::string& t : inh.target_rules) {
        const Rule* target = set.find(t);
        if (target == nullptr) {
          errors.push_back({rule.where.file, rule.where.line, 0, field + ".rules", "no rule named '" + t + "'"});
          continue;
        }
        const auto labels = labels_of(*target);
        for (const std::string& l : inh.equal) {
          if (labels && std::find(labels->begin(), labels->end(), l) == labels->end()) {
            errors.push_back({rule.where.file, rule.where.line, 0, field + ".equal",
                              "'" + l + "' is not a label of " + t + "'s alerts (labels: " + detail::join(*labels) + ")"});
          }
        }
      }
    }
  }
  // Depth-first search for a circle: 0 unvisited, 1 on the path, 2 done.
  std::map<std::string, int, std::less<>> mark;
  std::vector<std::string> path;
  std::function<bool(const Rule&)> visit = [&](const Rule& r) {
    int& m = mark[r.name];
    if (m == 2) return false;
    if (m == 1) {
      path.push_back(r.name);
      return true;
    }
    m = 1;
    path.push_back(r.name);
    for (const Inhibition& inh : r.inhibits) {
      for (const std::string& t : inh.target_rules) {
        if (const Rule* target = set.find(t); target != nullptr && visit(*target)) return true;
      }
    }
    path.pop_back();
    mark[r.name] = 2;
    return false;
  };
  for (const Rule& rule : set.rules) {
    path.clear();
    if (visit(rule)) {
      path.erase(path.begin(), std::find(path.begin(), path.end(), path.back()));  // the circle only
      const Rule& at = *set.find(path.back());
      errors.push_back({at.where.file, at.where.line, 0, "rules (" + at.name + ").inhibits",
                        "rules inhibit each other in a circle (" + detail::join(path, " -> ") +
                            "): their alerts would hide one another"});
      return;
    }
  }
}

}  // namespace

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
  check_inhibitions(out.rules, catalog, out.errors);
  return out;
}

}  // namespace ioc::rules
