// Evaluator, rendering: a transition as an AlertEvent, its labels and its
// annotations rendered from the rule's templates.
#include "evaluator_impl.hpp"

#include <cmath>
#include <cstdio>

#include "ioc/core/time_format.hpp"
#include "ioc/rules/fingerprint.hpp"

namespace ioc::rules {

using namespace detail;

std::string format_value(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "n/a" : (v > 0 ? "inf" : "-inf");
  char buf[64];
  if (std::fabs(v) < 1e15 && v == std::floor(v)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string format_duration(Millis d) {
  const std::int64_t s = std::max<std::int64_t>(0, d.count() / 1000);
  auto two = [](std::int64_t big, const char* bu, std::int64_t small, const char* su) {
    return std::to_string(big) + bu + (small > 0 ? std::to_string(small) + su : "");
  };
  if (s < 120) return std::to_string(s) + "s";
  if (s < 3600) return two(s / 60, "m", s % 60, "s");
  if (s < 86'400) return two(s / 3600, "h", s % 3600 / 60, "m");
  return two(s / 86'400, "d", s % 86'400 / 3600, "h");
}

// ---------------------------------------------------------------- events

std::optional<std::string> Evaluator::Impl::lookup(const RuleState& rs, const Alert& a, std::string_view name) const {
  const Rule& rule = *rs.rule;
  const Evaluation& e = a.last;
  if (name == "value") return format_value(e.value);
  if (name == "threshold") return format_value(e.threshold);
  if (name == "clear_threshold") return format_value(e.clear_threshold);
  if (name == "value_percent") return format_value(std::round(e.value * 1000.0) / 10.0) + "%";
  if (name == "threshold_percent") return format_value(std::round(e.threshold * 1000.0) / 10.0) + "%";
  if (name == "rule") return rule.name;
  if (name == "severity") return std::string(to_string(rule.severity));
  if (name == "view") return rule.view;
  if (name == "baseline") return e.baseline ? format_value(*e.baseline) : std::string("n/a");
  if (name == "silent_for") return format_duration(Millis(static_cast<std::int64_t>(e.value * 1000)));
  if (name == "window_start") return e.has_data ? format_rfc3339(e.window_start) : std::string();
  if (name == "window_end") return e.has_data ? format_rfc3339(e.window_end) : std::string();
  if (name == "members") {
    std::string out;
    for (const auto& m : e.members) out += (out.empty() ? "" : ", ") + m;
    return out;
  }
  if (const std::string* v = label_value(a.labels, name)) return *v;
  for (const auto& [k, v] : rule.labels) {
    if (k == name) return v;
  }
  if (name.ends_with("_name") && registry != nullptr) {
    const std::string_view label = name.substr(0, name.size() - 5);
    if (const std::string* code = label_value(a.labels, label)) {
      if (label == "district") {
        if (auto i = registry->district_index(*code)) return registry->district(*i).name;
      } else if (label == "category") {
        if (auto i = registry->category_index(*code)) return registry->category(*i).name;
      }
      return *code;
    }
  }
  return std::nullopt;
}

AlertEvent Evaluator::Impl::make_event(const RuleState& rs, Alert& a, AlertEvent::State state, TimePoint now) {
  const Rule& rule = *rs.rule;
  const Evaluation& e = a.last;
  AlertEvent ev;
  ev.fingerprint = a.fingerprint;
  ev.id = episode_id(a.fingerprint, a.lc.active_at);
  ev.rule = rule.name;
  ev.state = state;
  ev.severity = to_string(rule.severity);
  ev.view = rule.view;
  ev.group = a.labels;
  ev.window_start = e.window_start;
  ev.window_end = e.window_end;
  ev.value = e.value;
  ev.threshold = e.threshold;
  ev.comparator = rule.kind == ConditionKind::kAbsence ? ">=" : to_string(rule.fire.op);
  ev.sample_ids = e.sample_ids;
  ev.category = rule.category;
  ev.sub_category = rule.sub_category;
  if (!rule.category_from_label.empty()) {
    if (const std::string* code = label_value(a.labels, rule.category_from_label)) {
      ev.sub_category = *code;
      if (registry != nullptr) {
        if (auto i = registry->category_index(*code)) {
          const Category& c = registry->category(*i);
          ev.category = c.sdm_category;
          ev.sub_category = c.sdm_subcategory;
        }
      }
    }
    if (ev.category.empty()) ev.category = "other";
  }
  auto look = [&](std::string_view name) { return lookup(rs, a, name); };
  ev.labels.push_back({"alertname", rule.name});
  ev.labels.push_back({"severity", to_string(rule.severity)});
  for (const Label& l : a.labels) ev.labels.push_back(l);
  for (const auto& [k, v] : rule.labels) ev.labels.push_back({k, v});
  for (const auto& [k, t] : rule.annotations) {
    std::string text = t.render(look);
    if (k == "summary") ev.summary = text;
    if (k == "description") ev.description = text;
    ev.annotations.push_back({k, std::move(text)});
  }
  ev.scenario = rule.scenario.render(look);
  if (!ev.scenario.empty()) ev.annotations.push_back({"scenario", ev.scenario});
  std::string cap = rule.cap_category;
  if (cap.empty() && options.cap_category) cap = options.cap_category(ev.category, ev.sub_category);
  if (!cap.empty()) ev.annotations.push_back({"cap_category", std::move(cap)});
  if (!rule.event.empty()) ev.annotations.push_back({"event", rule.event});
  if (rule.cap_scope == CapScope::kRestricted) {
    ev.annotations.push_back({"cap_scope", to_string(rule.cap_scope)});
    ev.annotations.push_back({"cap_restriction", rule.cap_restriction});
  }
  ev.starts_at = a.lc.active_at;
  if (state == AlertEvent::State::kResolved || state == AlertEvent::State::kInactive) ev.ends_at = now;
  ev.sent_at = now;
  ev.revision = ++a.lc.revision;
  a.lc.last_event_at = now;
  a.lc.last_value = e.value;
  return ev;
}

}  // namespace ioc::rules
