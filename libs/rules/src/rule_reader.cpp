#include "rule_reader.hpp"

#include <sstream>

namespace ioc::rules::detail {

namespace {

const std::vector<std::string> kRuleKeys = {
    "name",     "view",    "match",    "group_by",        "combine",  "value",    "ratio",      "baseline",
    "absent_for", "heartbeat", "members", "fire",         "clear",    "require",  "for",        "keep_firing_for",
    "grace",    "severity", "labels",  "annotations",     "scenario", "category", "sub_category", "category_from",
    "cap_category", "event", "silence_on", "cap", "inhibits"};
const std::vector<std::string> kDefaultKeys = {"for", "keep_firing_for", "grace", "severity", "labels"};
const std::vector<std::string> kCapCategories = {"Geo",    "Met",    "Safety", "Security",  "Rescue", "Fire",
                                                 "Health", "Env",    "Transport", "Infra", "CBRNE",  "Other"};
const std::vector<std::string> kReservedLabels = {"alertname", "severity", "rule", "view", "fingerprint"};

std::optional<Severity> parse_severity(std::string_view s) {
  if (s == "info") return Severity::kInfo;
  if (s == "warning") return Severity::kWarning;
  if (s == "critical") return Severity::kCritical;
  return std::nullopt;
}

void read_labels(Reader& r, const YAML::Node& n, const std::string& field,
                 std::vector<std::pair<std::string, std::string>>& out) {
  if (!n.IsMap()) {
    r.error(n, field, "must be a mapping of label names to values");
    return;
  }
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    if (!is_identifier(k)) {
      r.error(kv.first, field + "." + k, "label names are letters, digits and '_', not starting with a digit");
      continue;
    }
    if (std::find(kReservedLabels.begin(), kReservedLabels.end(), k) != kReservedLabels.end()) {
      r.error(kv.first, field + "." + k, "is set by the alerter; reserved: " + join(kReservedLabels));
      continue;
    }
    auto v = r.scalar(kv.second, field + "." + k, "a string");
    if (!v) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == k; });
    if (it != out.end()) {
      it->second = *v;
    } else {
      out.emplace_back(k, *v);
    }
  }
}

/// Checks that a value name exists in the view.
void check_value(Reader& r, const views::ViewConfig* view, const YAML::Node& at, const std::string& field,
                 const std::string& value) {
  if (view == nullptr || view->has_value(value)) return;
  r.error(at, field, "view '" + view->name() + "' has no value '" + value + "'; it has: " + view->values_text());
}

void check_label(Reader& r, const views::ViewConfig* view, const YAML::Node& at, const std::string& field,
                 const std::string& label) {
  if (view == nullptr || view->has_label(label)) return;
  r.error(at, field,
          "view '" + view->name() + "' has no label '" + label + "'; its results are grouped by: " +
              join(view->group_names));
}

/// No value may satisfy both fire and clear, or a value in between would
/// resolve and fire again at every evaluation.
std::optional<std::string> overlap(const Comparison& fire, const Comparison& clear) {
  if (upward(fire.op) == upward(clear.op)) {
    return "must point the other way than fire '" + to_string(fire) + "' (e.g. '" + to_string(fire.negated()) + "')";
  }
  bool overlaps = false;
  double witness = fire.value;
  if (upward(fire.op)) {
    // fire: x >(=) a ; clear: x <(=) b
    overlaps = clear.value > fire.value || (clear.value == fire.value && fire.op == Op::kGe && clear.op == Op::kLe);
    if (overlaps && clear.value > fire.value) witness = fire.op == Op::kGe ? fire.value : (fire.value + clear.value) / 2;
  } else {
    overlaps = clear.value < fire.value || (clear.value == fire.value && fire.op == Op::kLe && clear.op == Op::kGe);
    if (overlaps && clear.value < fire.value) witness = fire.op == Op::kLe ? fire.value : (fire.value + clear.value) / 2;
  }
  if (!overlaps) return std::nullopt;
  std::ostringstream os;
  os << witness;
  return "overlaps fire '" + to_string(fire) + "' (a value of " + os.str() +
         " satisfies both): a clear condition must leave out every value that fires";
}

class RuleReader {
 public:
  RuleReader(Reader& r, const views::Catalog* catalog, const Defaults& d, const std::vector<Diagnostic>& all)
      : r_(r), catalog_(catalog), d_(d), all_(all) {}

  std::optional<Rule> read(const YAML::Node& n, std::size_t index) {
    field_ = "rules[" + std::to_string(index) + "]";
    if (!n.IsMap()) {
      r_.error(n, field_, "must be a mapping with at least name, view and a condition");
      return std::nullopt;
    }
    const std::size_t errors_before = errors();
    Rule rule;
    rule.where = {r_.file(), n.Mark().is_null() ? 0 : n.Mark().line + 1};
    if (!n["name"]) {
      r_.error(n, field_ + ".name", "is required: a name for the alert (letters, digits, '_'), e.g. FloodReportSurge");
    } else if (auto name = r_.scalar(n["name"], field_ + ".name", "a string")) {
      rule.name = *name;
      field_ += " (" + rule.name + ")";
      if (!is_identifier(rule.name)) {
        r_.error(n["name"], field_ + ".name", "must be letters, digits and '_', not starting with a digit, got '" + rule.name + "'");
      }
    }
    r_.only_keys(n, field_, kRuleKeys);

    const views::ViewConfig* view = nullptr;
    if (!n["view"]) {
      r_.error(n, field_ + ".view", "is required: the aggregator view the rule reads" +
                                       (catalog_ ? " (one of: " + catalog_->names() + ")" : std::string()));
    } else if (auto v = r_.scalar(n["view"], field_ + ".view", "a view name")) {
      rule.view = *v;
      if (catalog_) {
        view = catalog_->find(*v);
        if (view == nullptr) {
          r_.error(n["view"], field_ + ".view", "unknown view '" + *v + "' (" + catalog_->source() + " has: " + catalog_->names() + ")");
        }
      }
    }

    read_match(n["match"], view, rule);
    read_group_by(n["group_by"], view, rule);
    if (const YAML::Node c = n["combine"]) {
      if (auto s = r_.scalar(c, f("combine"), "sum, max or min")) {
        if (*s == "sum") rule.combine = Combine::kSum;
        else if (*s == "max") rule.combine = Combine::kMax;
        else if (*s == "min") rule.combine = Combine::kMin;
        else r_.error(c, f("combine"), "must be sum, max or min, got '" + *s + "'");
      }
    }
    read_condition(n, view, rule);
    read_timers(n, rule);
    read_presentation(n, view, rule);
    read_inhibits(n["inhibits"], view, rule);
    if (errors() != errors_before) return std::nullopt;
    return rule;
  }

 private:
  std::string f(const std::string& key) const { return field_ + "." + key; }
  std::size_t errors() const { return all_.size(); }

  void read_match(const YAML::Node& m, const views::ViewConfig* view, Rule& rule) {
    if (!m) return;
    if (!m.IsMap()) {
      r_.error(m, f("match"), "must be a mapping label: value | [values] | {not: value | [values]}");
      return;
    }
    for (const auto& kv : m) {
      const std::string label = kv.first.Scalar();
      const std::string field = f("match." + label);
      check_label(r_, view, kv.first, field, label);
      Matcher mt;
      mt.label = label;
      YAML::Node values = kv.second;
      if (kv.second.IsMap()) {
        if (kv.second.size() != 1 || !kv.second["not"]) {
          r_.error(kv.second, field, "must be a value, a list of values, or {not: value | [values]}");
          continue;
        }
        mt.negate = true;
        values = kv.second["not"];
      }
      auto list = r_.string_list(values, field);
      if (!list) continue;
      if (list->empty()) {
        r_.error(values, field, "must name at least one value");
        continue;
      }
      mt.values = std::move(*list);
      rule.match.push_back(std::move(mt));
    }
  }

  void read_group_by(const YAML::Node& g, const views::ViewConfig* view, Rule& rule) {
    if (!g) return;
    if (!g.IsSequence()) {
      r_.error(g, f("group_by"), "must be a list of labels, e.g. [district] ([] for one alert over the whole view)");
      return;
    }
    std::vector<std::string> labels;
    for (const auto& item : g) {
      if (!item.IsScalar()) {
        r_.error(item, f("group_by"), "must be a list of labels");
        return;
      }
      check_label(r_, view, item, f("group_by"), item.Scalar());
      if (std::find(labels.begin(), labels.end(), item.Scalar()) != labels.end()) {
        r_.error(item, f("group_by"), "label '" + item.Scalar() + "' is listed twice");
      }
      labels.push_back(item.Scalar());
    }
    rule.group_by = std::move(labels);
  }

  void value_name(const YAML::Node& n, const std::string& field, const views::ViewConfig* view, std::string& out) {
    if (auto s = r_.scalar(n, field, "the name of a value of the view's results")) {
      out = *s;
      check_value(r_, view, n, field, out);
    }
  }

  void read_condition(const YAML::Node& n, const views::ViewConfig* view, Rule& rule) {
    const bool has_members = static_cast<bool>(n["members"]);
    const bool has_absence = static_cast<bool>(n["absent_for"]);
    const bool has_ratio = static_cast<bool>(n["ratio"]);
    const bool has_baseline = static_cast<bool>(n["baseline"]);
    const bool has_value = static_cast<bool>(n["value"]);
    const int kinds = int(has_members) + int(has_absence) + int(has_ratio) + int(has_baseline && !has_ratio);
    if (kinds == 0 && !has_value) {
      r_.error(n, field_,
               "needs a condition: value + fire (threshold), ratio + fire, value + baseline + fire, absent_for, "
               "or members + fire");
      return;
    }
    if (kinds > 1) {
      r_.error(n, field_, "has more than one condition; use exactly one of ratio, baseline, absent_for, members");
      return;
    }
    if (has_members) {
      rule.kind = ConditionKind::kMembers;
    } else if (has_absence) {
      rule.kind = ConditionKind::kAbsence;
    } else if (has_ratio) {
      rule.kind = ConditionKind::kRatio;
    } else if (has_baseline) {
      rule.kind = ConditionKind::kBaseline;
    } else {
      rule.kind = ConditionKind::kThreshold;
    }
    const std::string kind = to_string(rule.kind);
    auto forbid = [&](const char* key, const std::string& why) {
      if (n[key]) r_.error(n[key], f(key), why);
    };

    switch (rule.kind) {
      case ConditionKind::kThreshold:
        value_name(n["value"], f("value"), view, rule.value);
        break;
      case ConditionKind::kRatio: {
        forbid("value", "a ratio rule compares ratio: [numerator, denominator]; drop value");
        const YAML::Node ratio = n["ratio"];
        if (!ratio.IsSequence() || ratio.size() != 2) {
          r_.error(ratio, f("ratio"), "must be [numerator, denominator], two value names, e.g. [online, count]");
          break;
        }
        value_name(ratio[0], f("ratio[0]"), view, rule.value);
        value_name(ratio[1], f("ratio[1]"), view, rule.denominator);
        break;
      }
      case ConditionKind::kBaseline: {
        if (!has_value) r_.error(n, f("value"), "a baseline rule needs the value it compares with its past");
        else value_name(n["value"], f("value"), view, rule.value);
        read_baseline(n["baseline"], view, rule);
        break;
      }
      case ConditionKind::kAbsence: {
        forbid("value", "an absence rule has no value; it fires when nothing is heard for absent_for");
        forbid("fire", "an absence rule fires after absent_for of silence; drop fire");
        forbid("clear", "an absence rule clears when the series is heard again; drop clear");
        forbid("require", "an absence rule has no value to require anything of");
        if (auto d = r_.duration(n["absent_for"], f("absent_for"))) {
          if (d->count() <= 0) r_.error(n["absent_for"], f("absent_for"), "must be positive");
          rule.absence.silent_for = *d;
        }
        if (n["heartbeat"]) value_name(n["heartbeat"], f("heartbeat"), view, rule.absence.heartbeat);
        if (n["silence_on"]) rule.absence.on = silence_on(n["silence_on"], f("silence_on"));
        break;
      }
      case ConditionKind::kMembers:
        forbid("value", "a members rule counts breaching members; the member's value goes in members.value");
        read_members(n["members"], view, rule);
        break;
    }
    if (rule.kind != ConditionKind::kAbsence) {
      forbid("heartbeat", "heartbeat belongs to absent_for (or members.absent_for)");
      forbid("silence_on", "silence_on belongs to absent_for (or members.absent_for)");
      if (!n["fire"]) {
        r_.error(n, f("fire"), "is required for a " + kind + " rule: a comparison like '>= 20'");
      } else if (auto c = r_.comparison(n["fire"], f("fire"))) {
        rule.fire = *c;
      }
      rule.clear = rule.fire.negated();
      if (n["clear"]) {
        if (auto c = r_.comparison(n["clear"], f("clear"))) {
          rule.clear = *c;
          if (n["fire"]) {
            if (auto why = overlap(rule.fire, rule.clear)) r_.error(n["clear"], f("clear"), *why);
          }
        }
      }
      if (const YAML::Node req = n["require"]) {
        if (!req.IsMap()) {
          r_.error(req, f("require"), "must be a mapping value: comparison, e.g. {count: '>= 30'}");
        } else if (req.size() > 4) {
          r_.error(req, f("require"), "at most 4 requirements per rule");
        } else {
          for (const auto& kv : req) {
            Requirement q;
            q.value = kv.first.Scalar();
            check_value(r_, view, kv.first, f("require." + q.value), q.value);
            if (auto c = r_.comparison(kv.second, f("require." + q.value))) q.cmp = *c;
            rule.require.push_back(std::move(q));
          }
        }
      }
    }
    // Summing ratios means nothing; rules that merge groups must say how.
    if (view != nullptr && rule.group_by && rule.combine == Combine::kSum &&
        rule.group_by->size() < view->group_names.size() && rule.kind != ConditionKind::kMembers &&
        rule.kind != ConditionKind::kAbsence) {
      for (const std::string* v : {&rule.value, &rule.denominator}) {
        if (view->is_ratio(*v)) {
          r_.error(n["group_by"], f("group_by"),
                   "merges groups of view '" + view->name() + "' but '" + *v +
                       "' is a ratio, which cannot be summed: use ratio: [numerator, denominator] of counts, or "
                       "combine: max | min");
        }
      }
    }
  }

  void read_baseline(const YAML::Node& b, const views::ViewConfig* view, Rule& rule) {
    const std::string field = f("baseline");
    if (!b.IsMap()) {
      r_.error(b, field, "must be {same_window: 24h} or {trailing_mean: 24h}, optionally with floor: N");
      return;
    }
    r_.only_keys(b, field, {"same_window", "trailing_mean", "floor"});
    if (b["same_window"] && b["trailing_mean"]) {
      r_.error(b, field, "has both same_window and trailing_mean; choose one");
      return;
    }
    if (b["same_window"]) {
      rule.baseline.kind = Baseline::Kind::kSameWindow;
      if (auto d = r_.duration(b["same_window"], field + ".same_window")) rule.baseline.period = *d;
    } else if (b["trailing_mean"]) {
      rule.baseline.kind = Baseline::Kind::kTrailingMean;
      if (auto d = r_.duration(b["trailing_mean"], field + ".trailing_mean")) rule.baseline.period = *d;
    } else {
      r_.error(b, field, "needs same_window: D (the same window D ago) or trailing_mean: D (the mean over D)");
      return;
    }
    if (rule.baseline.period.count() <= 0) r_.error(b, field, "the period must be positive");
    if (b["floor"]) {
      if (auto x = r_.number(b["floor"], field + ".floor")) {
        if (*x <= 0) r_.error(b["floor"], field + ".floor", "must be positive (the baseline divides)");
        rule.baseline.floor = *x;
      }
    }
    if (view != nullptr) {
      if (!view->aligned()) {
        r_.error(b, field, "needs a tumbling or hopping view; '" + view->name() + "' has sliding or session windows");
      } else if (rule.baseline.period < view->spec.window.size) {
        r_.error(b, field, "the period must be at least the view's window (" +
                               std::to_string(view->spec.window.size.count() / 1000) + "s)");
      }
    }
  }

  SilenceOn silence_on(const YAML::Node& n, const std::string& field) {
    const auto s = r_.scalar(n, field, "clock or feed");
    if (s && *s == "feed") return SilenceOn::kFeed;
    if (s && *s != "clock") {
      r_.error(n, field, "must be clock (time passing) or feed (the view moving on without the series), not '" + *s +
                             "'");
    }
    return SilenceOn::kClock;
  }

  void read_members(const YAML::Node& m, const views::ViewConfig* view, Rule& rule) {
    const std::string field = f("members");
    if (!m.IsMap()) {
      r_.error(m, field, "must be {label: L, absent_for: D} or {label: L, value: V, when: '< 1'}");
      return;
    }
    r_.only_keys(m, field, {"label", "absent_for", "heartbeat", "silence_on", "value", "when"});
    if (!m["label"]) {
      r_.error(m, field + ".label", "is required: the label naming a member, e.g. source_id");
    } else if (auto l = r_.scalar(m["label"], field + ".label", "a label")) {
      rule.members.label = *l;
      check_label(r_, view, m["label"], field + ".label", *l);
      if (rule.group_by &&
          std::find(rule.group_by->begin(), rule.group_by->end(), *l) != rule.group_by->end()) {
        r_.error(m["label"], field + ".label", "'" + *l + "' is in group_by; members are counted within a group");
      }
    }
    if (!rule.group_by) {
      r_.error(m, f("group_by"), "is required with members: the labels of a group, e.g. [district]");
    }
    if (m["absent_for"]) {
      if (m["value"] || m["when"]) r_.error(m, field, "has both absent_for and value/when; choose one");
      Absence a;
      if (auto d = r_.duration(m["absent_for"], field + ".absent_for")) a.silent_for = *d;
      if (a.silent_for.count() <= 0) r_.error(m["absent_for"], field + ".absent_for", "must be positive");
      if (m["heartbeat"]) value_name(m["heartbeat"], field + ".heartbeat", view, a.heartbeat);
      if (m["silence_on"]) a.on = silence_on(m["silence_on"], field + ".silence_on");
      rule.members.absence = a;
    } else if (m["value"] && m["when"]) {
      value_name(m["value"], field + ".value", view, rule.members.value);
      if (auto c = r_.comparison(m["when"], field + ".when")) rule.members.when = *c;
    } else {
      r_.error(m, field, "needs absent_for: D (a member is silent) or value: V with when: '< 1'");
    }
  }

  void read_timers(const YAML::Node& n, Rule& rule) {
    rule.for_ = d_.for_;
    rule.keep_firing_for = d_.keep_firing_for;
    rule.grace = d_.grace;
    if (n["for"]) rule.for_ = r_.duration(n["for"], f("for")).value_or(rule.for_);
    if (n["keep_firing_for"]) {
      rule.keep_firing_for = r_.duration(n["keep_firing_for"], f("keep_firing_for")).value_or(rule.keep_firing_for);
    }
    if (n["grace"]) rule.grace = r_.duration(n["grace"], f("grace")).value_or(rule.grace);
  }

  void read_presentation(const YAML::Node& n, const views::ViewConfig* view, Rule& rule) {
    rule.severity = d_.severity;
    if (n["severity"]) {
      if (auto s = r_.scalar(n["severity"], f("severity"), "info, warning or critical")) {
        if (auto sev = parse_severity(*s)) {
          rule.severity = *sev;
        } else {
          r_.error(n["severity"], f("severity"), "must be info, warning or critical, got '" + *s + "'");
        }
      }
    }
    rule.labels = d_.labels;
    if (n["labels"]) read_labels(r_, n["labels"], f("labels"), rule.labels);

    // The labels an alert carries: its group labels (known from group_by, or
    // from the view when group_by is left out).
    std::optional<std::vector<std::string>> alert_labels = rule.group_by;
    if (!alert_labels && view != nullptr) alert_labels = view->group_names;
    if (alert_labels) {
      for (const auto& [k, v] : rule.labels) {
        if (std::find(alert_labels->begin(), alert_labels->end(), k) != alert_labels->end()) {
          r_.error(n["labels"] ? n["labels"] : n, f("labels." + k), "is a group label of the alert; choose another name");
        }
      }
    }
    std::set<std::string> vars(template_variables().begin(), template_variables().end());
    if (alert_labels) {
      for (const auto& l : *alert_labels) {
        vars.insert(l);
        if (l == "district" || l == "category") vars.insert(l + "_name");
      }
    }
    for (const auto& [k, v] : rule.labels) vars.insert(k);
    auto compile = [&](const YAML::Node& node, const std::string& field) -> std::optional<Template> {
      auto s = r_.scalar(node, field, "a text (with {{placeholders}})");
      if (!s) return std::nullopt;
      auto t = Template::compile(*s);
      if (!t.ok()) {
        r_.error(node, field, t.error().message);
        return std::nullopt;
      }
      // Without the view's labels (no catalog, no group_by) any name may be a label.
      for (const std::string& name : t->names()) {
        if (alert_labels && !vars.contains(name)) {
          r_.error(node, field, "unknown placeholder '{{" + name + "}}'; known here: " + join(vars));
        }
      }
      return std::move(t).value();
    };
    if (const YAML::Node a = n["annotations"]) {
      if (!a.IsMap()) {
        r_.error(a, f("annotations"), "must be a mapping name: text, e.g. {summary: ..., description: ...}");
      } else {
        for (const auto& kv : a) {
          const std::string k = kv.first.Scalar();
          if (!is_identifier(k)) {
            r_.error(kv.first, f("annotations." + k), "annotation names are letters, digits and '_'");
            continue;
          }
          if (auto t = compile(kv.second, f("annotations." + k))) rule.annotations.emplace_back(k, std::move(*t));
        }
      }
    }
    if (std::none_of(rule.annotations.begin(), rule.annotations.end(), [](const auto& p) { return p.first == "summary"; })) {
      r_.error(n["annotations"] ? n["annotations"] : n, f("annotations.summary"),
               "is required: a one-line text for the operator (the CAP headline), e.g. '{{value}} flood reports in "
               "{{district_name}}'");
    }
    if (n["scenario"]) {
      if (auto t = compile(n["scenario"], f("scenario"))) rule.scenario = std::move(*t);
    } else {
      r_.error(n, f("scenario"), "is required: what the operator should do when it fires (the CAP instruction)");
    }
    auto text = [&](const char* key, std::string& out) {
      if (n[key]) {
        if (auto s = r_.scalar(n[key], f(key), "a string")) out = *s;
      }
    };
    text("category", rule.category);
    text("sub_category", rule.sub_category);
    text("category_from", rule.category_from_label);
    text("event", rule.event);
    text("cap_category", rule.cap_category);
    if (!rule.category_from_label.empty()) {
      if (n["category"]) r_.error(n["category"], f("category"), "is given together with category_from; choose one");
      if (alert_labels && std::find(alert_labels->begin(), alert_labels->end(), rule.category_from_label) ==
                              alert_labels->end()) {
        r_.error(n["category_from"], f("category_from"),
                 "'" + rule.category_from_label + "' is not a label of the alert (labels: " + join(*alert_labels) + ")");
      }
    } else if (rule.category.empty()) {
      r_.error(n, f("category"),
               "is required: the FIWARE Smart Data Models Alert category (e.g. naturalDisaster, traffic, "
               "environment, infrastructure), or category_from: <label> to take it from the report category");
    }
    if (!rule.cap_category.empty() &&
        std::find(kCapCategories.begin(), kCapCategories.end(), rule.cap_category) == kCapCategories.end()) {
      r_.error(n["cap_category"], f("cap_category"), "must be a CAP 1.2 category: " + join(kCapCategories));
    }
    read_cap(n["cap"], rule);
  }

  void read_cap(const YAML::Node& c, Rule& rule) {
    if (!c) return;
    const std::string field = f("cap");
    if (!c.IsMap()) {
      r_.error(c, field, "must be {scope: public | restricted, restriction: text}");
      return;
    }
    r_.only_keys(c, field, {"scope", "restriction"});
    if (c["scope"]) {
      if (auto s = r_.scalar(c["scope"], field + ".scope", "public or restricted")) {
        if (*s == "public") {
          rule.cap_scope = CapScope::kPublic;
        } else if (*s == "restricted") {
          rule.cap_scope = CapScope::kRestricted;
        } else {
          r_.error(c["scope"], field + ".scope", "must be public or restricted, got '" + *s + "'");
        }
      }
    }
    if (c["restriction"]) {
      if (auto s = r_.scalar(c["restriction"], field + ".restriction", "a text")) rule.cap_restriction = *s;
      if (rule.cap_scope != CapScope::kRestricted) {
        r_.error(c["restriction"], field + ".restriction", "belongs to scope: restricted");
      }
    }
    if (rule.cap_scope == CapScope::kRestricted && rule.cap_restriction.empty()) {
      rule.cap_restriction = "For the operations center and the agencies it reports to; not for public release.";
    }
  }

  // Which rules exist and whether they form a circle is known only once
  // every file is read (load_rules, check_inhibitions).
  void read_inhibits(const YAML::Node& list, const views::ViewConfig* view, Rule& rule) {
    if (!list) return;
    const std::string field = f("inhibits");
    if (!list.IsSequence()) {
      r_.error(list, field, "must be a list of {rules: [names], equal: [labels]}");
      return;
    }
    std::optional<std::vector<std::string>> alert_labels = rule.group_by;
    if (!alert_labels && view != nullptr) alert_labels = view->group_names;
    std::size_t k = 0;
    for (const auto& item : list) {
      const std::string at = field + "[" + std::to_string(k++) + "]";
      if (!item.IsMap()) {
        r_.error(item, at, "must be {rules: [names], equal: [labels]}");
        continue;
      }
      r_.only_keys(item, at, {"rules", "equal"});
      Inhibition inh;
      inh.source_rule = rule.name;
      if (!item["rules"]) {
        r_.error(item, at + ".rules", "is required: the rules whose alerts this one inhibits, e.g. [BtsStationSilent]");
      } else if (auto names = r_.string_list(item["rules"], at + ".rules")) {
        if (names->empty()) r_.error(item["rules"], at + ".rules", "must name at least one rule");
        for (const std::string& t : *names) {
          if (!is_identifier(t)) r_.error(item["rules"], at + ".rules", "'" + t + "' is not a rule name");
          if (t == rule.name) r_.error(item["rules"], at + ".rules", "a rule cannot inhibit its own alerts");
        }
        inh.target_rules = std::move(*names);
      }
      if (item["equal"]) {
        if (auto labels = r_.string_list(item["equal"], at + ".equal")) {
          for (const std::string& l : *labels) {
            // A label the source's alerts lack reads as empty: such an
            // inhibition would only ever hold for targets lacking it too.
            if (alert_labels && std::find(alert_labels->begin(), alert_labels->end(), l) == alert_labels->end()) {
              r_.error(item["equal"], at + ".equal",
                       "'" + l + "' is not a label of this rule's alerts (labels: " + join(*alert_labels) + ")");
            }
          }
          inh.equal = std::move(*labels);
        }
      }
      rule.inhibits.push_back(std::move(inh));
    }
  }

  Reader& r_;
  const views::Catalog* catalog_;
  const Defaults& d_;
  const std::vector<Diagnostic>& all_;
  std::string field_;
};

}  // namespace

Defaults read_defaults(Reader& r, const YAML::Node& n) {
  Defaults d;
  if (!n) return d;
  if (!n.IsMap()) {
    r.error(n, "defaults", "must be a mapping");
    return d;
  }
  r.only_keys(n, "defaults", kDefaultKeys);
  if (n["for"]) d.for_ = r.duration(n["for"], "defaults.for").value_or(d.for_);
  if (n["keep_firing_for"]) d.keep_firing_for = r.duration(n["keep_firing_for"], "defaults.keep_firing_for").value_or(d.keep_firing_for);
  if (n["grace"]) d.grace = r.duration(n["grace"], "defaults.grace").value_or(d.grace);
  if (n["severity"]) {
    auto s = r.scalar(n["severity"], "defaults.severity", "info, warning or critical");
    if (s) {
      if (auto sev = parse_severity(*s)) {
        d.severity = *sev;
      } else {
        r.error(n["severity"], "defaults.severity", "must be info, warning or critical, got '" + *s + "'");
      }
    }
  }
  if (n["labels"]) read_labels(r, n["labels"], "defaults.labels", d.labels);
  return d;
}

std::optional<Rule> read_rule(Reader& r, const views::Catalog* catalog, const Defaults& defaults,
                              const std::vector<Diagnostic>& all, const YAML::Node& n, std::size_t index) {
  return RuleReader(r, catalog, defaults, all).read(n, index);
}

}  // namespace ioc::rules::detail
