#pragma once
// Shared by the rules tests: a small registry, a view catalog, rule files
// written inline, and WindowResults built in one line.

#include <gtest/gtest.h>

#include "ioc/rules/evaluator.hpp"
#include "ioc/rules/parse.hpp"

namespace ioc::rules::test {

// An hour boundary, so windows of every size start on their grid here.
constexpr std::int64_t kT0 = 1'699'999'200'000;
/// The final bit of a WindowResult revision (the window closed with this value).
constexpr std::uint32_t kFinal = 1u << 31;

inline TimePoint at(double seconds) { return from_epoch_ms(kT0 + static_cast<std::int64_t>(seconds * 1000)); }

inline constexpr const char* kViewsYaml = R"y(
views:
  reports_1m:
    source: reports
    group_by: [district, category]
    window: {tumbling: 1m}
    aggregations: [count]
  reports_15m:
    source: reports
    group_by: [district, category]
    window: {hopping: 15m, advance: 1m}
    aggregations: [count]
  transactions_1h:
    source: transactions
    group_by: [district]
    window: {tumbling: 1h}
    aggregations:
      - count
      - {name: online, count_where: {channel: online}}
    ratios:
      online_ratio: [online, count]
  station_5m:
    source: telemetry
    group_by: [district, source_id, kind]
    window: {tumbling: 5m}
    aggregations: [count, {name: last, last: value}]
  heartbeat_5m:
    source: telemetry
    group_by: [district, source_id, kind]
    window: {tumbling: 5m}
    aggregations: [count, {name: last_seen, max: occurred_at}]
)y";

/// Views from YAML text (a test failure when they are invalid).
inline views::Catalog parse_views(std::string_view yaml) { return views::Catalog::parse(yaml, "views.yaml"); }

/// Rules from YAML text against `views`, with their errors.
inline Parsed parse(const std::string& rules_yaml, const views::Catalog* views) {
  return parse_rules(rules_yaml, "rules.yaml", views);
}

class RulesTest : public ::testing::Test {
 public:
  RulesTest()
      : registry_({{"380", "Thành phố Thanh Hóa", "thanh-hoa"}, {"384", "Huyện Mường Lát", "muong-lat"}},
                  {{"flood", "Ngập lụt", "naturalDisaster", "flood", ""},
                   {"landslide", "Sạt lở đất", "naturalDisaster", "landslide", ""},
                   {"fire", "Cháy nổ", "security", "buildingFire", ""}}),
        views_(parse_views(kViewsYaml)) {}

  Evaluator make(const std::string& rules_yaml, EvaluatorOptions options = {}) {
    Parsed p = parse(rules_yaml, &views_);
    for (const auto& e : p.errors) ADD_FAILURE() << e.to_string();
    return Evaluator(std::move(p.rules), &views_, &registry_, std::move(options));
  }

  /// A result of `view` for `group`, window [start, start + length) in seconds from kT0.
  static WindowResult result(const std::string& view, std::vector<Label> group, double start, double length,
                             std::uint32_t revision, std::int64_t count,
                             std::vector<WindowResult::Value> values = {}, std::vector<std::string> samples = {},
                             double watermark = -1) {
    WindowResult r;
    r.view = view;
    r.group = std::move(group);
    r.window_start = at(start);
    r.window_end = at(start + length);
    r.revision = revision;
    r.count = count;
    r.values = std::move(values);
    if (r.values.empty()) r.values.push_back({"count", static_cast<double>(count)});
    r.sample_ids = std::move(samples);
    r.watermark = watermark >= 0 ? at(watermark) : TimePoint{};
    return r;
  }

  static std::vector<Label> flood(const std::string& district = "380") {
    return {{"district", district}, {"category", "flood"}};
  }

  /// Events of one evaluate_touched() at `t`.
  static std::vector<AlertEvent> touched(Evaluator& e, double t) {
    std::vector<AlertEvent> out;
    e.evaluate_touched(at(t), out);
    return out;
  }
  static std::vector<AlertEvent> all(Evaluator& e, double t) {
    std::vector<AlertEvent> out;
    e.evaluate_all(at(t), out);
    return out;
  }

 protected:
  Registry registry_;
  views::Catalog views_;
};

inline std::string states(const std::vector<AlertEvent>& events) {
  std::string s;
  for (const auto& e : events) s += std::string(s.empty() ? "" : ",") + to_string(e.state);
  return s;
}

inline const std::string* label(const AlertEvent& e, std::string_view name) {
  for (const auto& l : e.labels) {
    if (l.name == name) return &l.value;
  }
  return nullptr;
}
inline const std::string* annotation(const AlertEvent& e, std::string_view name) {
  for (const auto& l : e.annotations) {
    if (l.name == name) return &l.value;
  }
  return nullptr;
}

// A flood-surge rule on reports_1m; `extra` lines are appended to the rule.
inline std::string surge_rule(const std::string& extra = "") {
  return R"y(rules:
  - name: FloodSurge
    view: reports_1m
    match: {category: flood}
    value: count
    fire: ">= 20"
    clear: "< 10"
    grace: 10s
    severity: critical
    category_from: category
    annotations:
      summary: "{{value}} flood reports in {{district_name}} (threshold {{threshold}})"
      description: "window {{window_start}} .. {{window_end}}"
    scenario: Call the steering committee of {{district_name}}.
)y" + extra;
}

}  // namespace ioc::rules::test
