#include "ioc/rules/parse.hpp"

#include <gtest/gtest.h>

#include "fixture.hpp"

namespace ioc::rules {
namespace {

const std::string kViews = R"y(
views:
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
      - {name: processing_ms, quantiles: [0.5, 0.95], of: processing_ms}
    ratios:
      online_ratio: [online, count]
  station_5m:
    source: telemetry
    group_by: [district, source_id, kind]
    window: {tumbling: 5m}
    aggregations: [count, {name: last, last: value}]
  recent_sliding:
    source: reports
    group_by: [district]
    window: {sliding: 1m}
    aggregations: [count]
)y";

views::Catalog catalog() { return test::parse_views(kViews); }

// A valid rule, to be broken one field at a time.
std::string rule(const std::string& extra = "", const std::string& fire = "\">= 20\"") {
  return "rules:\n"
         "  - name: FloodReportSurge\n"
         "    view: reports_15m\n"
         "    match: {category: [flood, landslide]}\n"
         "    value: count\n"
         "    fire: " + fire + "\n"
         "    category_from: category\n"
         "    annotations: {summary: \"{{value}} reports in {{district_name}}\"}\n"
         "    scenario: Call the district.\n" + extra;
}

std::vector<std::string> errors(const std::string& yaml) {
  const views::Catalog views = catalog();
  Parsed p = test::parse(yaml, &views);
  std::vector<std::string> out;
  for (const auto& e : p.errors) out.push_back(e.to_string());
  return out;
}

::testing::AssertionResult has_error(const std::vector<std::string>& errs, const std::string& needle) {
  for (const auto& e : errs) {
    if (e.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  }
  std::string all;
  for (const auto& e : errs) all += "\n  " + e;
  return ::testing::AssertionFailure() << "no error contains '" << needle << "'; errors:" << all;
}

TEST(ParseTest, ShippedRulesAreValid) {
  const views::Catalog views = views::Catalog::load(IOC_DEFAULT_CONFIG_DIR "/views.yaml");
  for (const char* file : {"rules.yaml", "rules-demo.yaml"}) {
    Parsed p = load_rules({std::string(IOC_DEFAULT_CONFIG_DIR "/") + file}, &views);
    for (const auto& e : p.errors) ADD_FAILURE() << e.to_string();
    EXPECT_FALSE(p.rules.rules.empty()) << file;
  }
}

// The aggregator publishes quantile 0.99995 as `_p99.995`: a rule must be
// checked against that name, not against a rounded `_p100` that never comes.
TEST(ParseTest, AQuantileValueIsNamedAsTheAggregatorPublishesIt) {
  const views::Catalog views = test::parse_views(R"y(
views:
  processing_1h:
    source: transactions
    group_by: [district]
    window: {tumbling: 1h}
    aggregations: [{name: processing_ms, quantiles: [0.99995], of: processing_ms}]
)y");
  auto check = [&](const std::string& value) {
    Parsed p = test::parse("rules:\n  - name: SlowTail\n    view: processing_1h\n    value: " + value +
                               "\n    fire: \"> 1000\"\n    category: infrastructure\n"
                               "    annotations: {summary: \"{{value}}\"}\n    scenario: x\n",
                           &views);
    std::string out;
    for (const auto& e : p.errors) out += e.to_string();
    return out;
  };
  EXPECT_EQ(check("processing_ms_p99.995"), "");
  EXPECT_NE(check("processing_ms_p100").find("view 'processing_1h' has no value 'processing_ms_p100'; it has: "
                                             "processing_ms_p99.995"),
            std::string::npos)
      << check("processing_ms_p100");
}

TEST(ParseTest, ReadsEveryPartOfARule) {
  const views::Catalog views = catalog();
  Parsed p = parse_rules(R"y(
defaults:
  for: 1m
  labels: {team: ioc}
rules:
  - name: OnlineRateLow
    view: transactions_1h
    value: online_ratio
    require: {count: ">= 30"}
    fire: "< 0.80"
    clear: ">= 0.85"
    keep_firing_for: 10m
    severity: critical
    labels: {channel: online}
    category: publicService
    sub_category: onlineApplications
    cap_category: Other
    event: Online rate low
    annotations:
      summary: "{{value_percent}} online in {{district_name}}"
    scenario: Check the portal.
)y", "r.yaml", &views);
  ASSERT_TRUE(p.ok()) << p.errors[0].to_string();
  ASSERT_EQ(p.rules.rules.size(), 1u);
  const Rule& r = p.rules.rules[0];
  EXPECT_EQ(r.kind, ConditionKind::kThreshold);
  EXPECT_EQ(r.value, "online_ratio");
  EXPECT_EQ(r.fire, (Comparison{Op::kLt, 0.80}));
  EXPECT_EQ(r.clear, (Comparison{Op::kGe, 0.85}));
  ASSERT_EQ(r.require.size(), 1u);
  EXPECT_EQ(r.require[0].value, "count");
  EXPECT_EQ(r.for_, std::chrono::minutes(1));  // from defaults
  EXPECT_EQ(r.keep_firing_for, std::chrono::minutes(10));
  EXPECT_EQ(r.severity, Severity::kCritical);
  EXPECT_EQ(r.labels, (std::vector<std::pair<std::string, std::string>>{{"team", "ioc"}, {"channel", "online"}}));
  EXPECT_EQ(r.where.line, 6);
}

// Regression: `fire:` given twice passed --check (the first won), and a
// second top-level `rules:` block was dropped silently, unknown view and all.
TEST(ParseTest, AKeyGivenTwiceIsAnError) {
  EXPECT_TRUE(has_error(errors(rule("    fire: \">= 50\"\n")),
                        "rules.yaml:10:5: rules[0].fire: appears twice in this mapping (first on line 6)"));
  const auto errs = errors(rule() + "rules:\n  - name: Other\n    view: nowhere\n");
  EXPECT_TRUE(has_error(errs, "rules.yaml:10:1: rules: appears twice in this mapping (first on line 1)"));
}

TEST(ParseTest, ClearDefaultsToTheNegatedFireCondition) {
  const views::Catalog views = catalog();
  Parsed p = test::parse(rule(), &views);
  ASSERT_TRUE(p.ok()) << p.errors[0].to_string();
  EXPECT_EQ(p.rules.rules[0].clear, (Comparison{Op::kLt, 20}));
}

TEST(ParseTest, BadComparisonNamesFileLineColumnAndWhatIsAllowed) {
  const auto errs = errors(rule("", "\"=> 20\""));
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0],
            "rules.yaml:6:11: rules[0] (FloodReportSurge).fire: must be a comparison like '>= 20' (one of >, <, >=, <= "
            "and a number), got '=> 20'");
}

TEST(ParseTest, UnknownViewListsTheKnownOnes) {
  std::string y = rule();
  y.replace(y.find("reports_15m"), 11, "reports_5m");
  EXPECT_TRUE(has_error(errors(y), "rules.yaml:3:11: rules[0] (FloodReportSurge).view: unknown view 'reports_5m' "
                                   "(views.yaml has: reports_15m, transactions_1h, station_5m, recent_sliding)"));
}

TEST(ParseTest, UnknownValueListsTheViewsValues) {
  std::string y = rule();
  y.replace(y.find("value: count"), 12, "value: total");
  EXPECT_TRUE(has_error(errors(y), ":5:12: rules[0] (FloodReportSurge).value: view 'reports_15m' has no value 'total'; "
                                   "it has: count"));
}

TEST(ParseTest, UnknownLabelsAndKeys) {
  std::string y = rule("    colour: red\n");
  y.replace(y.find("{category:"), 10, "{kind:");
  const auto errs = errors(y);
  EXPECT_TRUE(has_error(errs, ":4:13: rules[0] (FloodReportSurge).match.kind: view 'reports_15m' has no label 'kind'"));
  EXPECT_TRUE(has_error(errs, ":10:5: rules[0] (FloodReportSurge).colour: unknown key; allowed: name, view"));
}

TEST(ParseTest, ClearThatOverlapsFireIsRejected) {
  EXPECT_TRUE(has_error(errors(rule("    clear: \"< 25\"\n")),
                        "clear: overlaps fire '>= 20' (a value of 20 satisfies both)"));
  EXPECT_TRUE(has_error(errors(rule("    clear: \">= 5\"\n")), "clear: must point the other way than fire '>= 20'"));
  EXPECT_TRUE(errors(rule("    clear: \"< 20\"\n")).empty());
}

TEST(ParseTest, SummaryScenarioAndCategoryAreRequired) {
  const auto errs = errors("rules:\n  - name: X\n    view: reports_15m\n    value: count\n    fire: '> 1'\n");
  EXPECT_TRUE(has_error(errs, "rules[0] (X).annotations.summary: is required"));
  EXPECT_TRUE(has_error(errs, "rules[0] (X).scenario: is required"));
  EXPECT_TRUE(has_error(errs, "rules[0] (X).category: is required"));
}

TEST(ParseTest, UnknownPlaceholderIsNamed) {
  std::string y = rule();
  y.replace(y.find("{{district_name}}"), 17, "{{station}}");
  EXPECT_TRUE(has_error(errors(y), "annotations.summary: unknown placeholder '{{station}}'; known here:"));
}

TEST(ParseTest, SummingARatioAcrossGroupsIsRejected) {
  const auto errs = errors(R"y(rules:
  - name: OnlineProvince
    view: transactions_1h
    group_by: []
    value: online_ratio
    fire: "< 0.8"
    category: publicService
    annotations: {summary: x}
    scenario: y
)y");
  EXPECT_TRUE(has_error(errs, "group_by: merges groups of view 'transactions_1h' but 'online_ratio' is a ratio"));
}

TEST(ParseTest, ConditionShapes) {
  const auto none = errors("rules:\n  - name: X\n    view: reports_15m\n    category: c\n"
                           "    annotations: {summary: s}\n    scenario: y\n");
  EXPECT_TRUE(has_error(none, "rules[0] (X): needs a condition"));
  const auto two = errors(rule("    absent_for: 5m\n    ratio: [count, count]\n"));
  EXPECT_TRUE(has_error(two, "has more than one condition"));
  const auto absence_fire = errors("rules:\n  - name: S\n    view: station_5m\n    absent_for: 5m\n    fire: '> 1'\n"
                                   "    category: c\n    annotations: {summary: s}\n    scenario: y\n");
  EXPECT_TRUE(has_error(absence_fire, ":5:11: rules[0] (S).fire: an absence rule fires after absent_for"));
  const auto members = errors("rules:\n  - name: M\n    view: station_5m\n    members: {label: source_id}\n"
                              "    fire: '>= 5'\n    category: c\n    annotations: {summary: s}\n    scenario: y\n");
  EXPECT_TRUE(has_error(members, "rules[0] (M).group_by: is required with members"));
  EXPECT_TRUE(has_error(members, "rules[0] (M).members: needs absent_for: D"));
  const auto sliding = errors("rules:\n  - name: B\n    view: recent_sliding\n    value: count\n"
                              "    baseline: {same_window: 24h}\n    fire: '>= 3'\n    category: c\n"
                              "    annotations: {summary: s}\n    scenario: y\n");
  EXPECT_TRUE(has_error(sliding, "baseline: needs a tumbling or hopping view"));
  const auto bad_duration = errors(rule("    for: 5 minutes\n"));
  EXPECT_TRUE(has_error(bad_duration, ":10:10: rules[0] (FloodReportSurge).for: must be a duration like 30s, 5m"));
  const auto silence_on = errors("rules:\n  - name: S\n    view: station_5m\n    absent_for: 5m\n    silence_on: feeds\n"
                                 "    category: c\n    annotations: {summary: s}\n    scenario: y\n");
  EXPECT_TRUE(has_error(silence_on, "(S).silence_on: must be clock (time passing) or feed"));
  const auto silence_on_threshold = errors(rule("    silence_on: feed\n"));
  EXPECT_TRUE(has_error(silence_on_threshold, "silence_on: silence_on belongs to absent_for"));
  const auto bad_severity = errors(rule("    severity: urgent\n"));
  EXPECT_TRUE(has_error(bad_severity, "severity: must be info, warning or critical, got 'urgent'"));
}

TEST(ParseTest, ReservedAndDuplicateNames) {
  const auto reserved = errors(rule("    labels: {severity: high}\n"));
  EXPECT_TRUE(has_error(reserved, "labels.severity: is set by the alerter"));
  const auto clash = errors(rule("    labels: {district: x}\n"));
  EXPECT_TRUE(has_error(clash, "labels.district: is a group label of the alert"));
  std::string twice = rule();
  twice += twice.substr(twice.find("  - name"));
  EXPECT_TRUE(has_error(errors(twice), "rules[1] (FloodReportSurge).name: another rule in this file has the same name"));
}

TEST(ParseTest, InvalidYamlHasALine) {
  const auto errs = errors("rules:\n  - name: [unclosed\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_NE(errs[0].find("rules.yaml:3:"), std::string::npos) << errs[0];
  EXPECT_NE(errs[0].find("invalid YAML"), std::string::npos);
  EXPECT_TRUE(has_error(errors("- a\n- b\n"), "the file must be a mapping with a `rules:` list"));
}

TEST(ParseTest, EveryBrokenRuleIsReportedNotOnlyTheFirst) {
  std::string y = rule("", "\"=> 20\"");
  y += "  - name: Second\n    view: nowhere\n    value: count\n    fire: '> 1'\n    category: c\n"
       "    annotations: {summary: s}\n    scenario: y\n";
  const auto errs = errors(y);
  EXPECT_TRUE(has_error(errs, "rules[0] (FloodReportSurge).fire"));
  EXPECT_TRUE(has_error(errs, "rules[1] (Second).view: unknown view 'nowhere'"));
}

TEST(ParseTest, WithoutACatalogOnlyTheShapeIsChecked) {
  Parsed p = test::parse(rule(), nullptr);
  EXPECT_TRUE(p.ok());
}

TEST(ParseTest, LaterFilesReplaceRulesOfTheSameName) {
  const std::string dir = ::testing::TempDir();
  const std::string a = dir + "/a.yaml";
  const std::string b = dir + "/b.yaml";
  {
    std::FILE* f = std::fopen(a.c_str(), "w");
    const std::string y = rule() + "  - name: Other\n    view: reports_15m\n    value: count\n    fire: '> 1'\n"
                                   "    category: c\n    annotations: {summary: s}\n    scenario: y\n";
    std::fputs(y.c_str(), f);
    std::fclose(f);
    f = std::fopen(b.c_str(), "w");
    std::fputs(rule("", "\">= 3\"").c_str(), f);
    std::fclose(f);
  }
  const views::Catalog views = catalog();
  Parsed p = load_rules({a, b}, &views);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p.rules.rules.size(), 2u);
  EXPECT_EQ(p.rules.rules[0].name, "FloodReportSurge");
  EXPECT_EQ(p.rules.rules[0].fire.value, 3);
  EXPECT_EQ(p.rules.rules[0].where.file, b);
  EXPECT_TRUE(has_error([&] {
    std::vector<std::string> out;
    for (const auto& e : load_rules({dir + "/missing.yaml"}, &views).errors) out.push_back(e.to_string());
    return out;
  }(), "missing.yaml: cannot open the file"));
}

// Two rules of station_5m: one per station, one per district, the latter
// inhibiting the former in the same district.
std::string station_rules(const std::string& inhibits) {
  return "rules:\n"
         "  - name: StationSilent\n"
         "    view: station_5m\n"
         "    group_by: [district, source_id]\n"
         "    absent_for: 10m\n"
         "    category: infrastructure\n"
         "    annotations: {summary: s}\n"
         "    scenario: y\n"
         "  - name: StationsDown\n"
         "    view: station_5m\n"
         "    group_by: [district]\n"
         "    members: {label: source_id, absent_for: 10m}\n"
         "    fire: '>= 5'\n"
         "    category: infrastructure\n"
         "    annotations: {summary: s}\n"
         "    scenario: y\n" + inhibits;
}

std::vector<std::string> loaded_errors(const std::string& yaml) {
  const std::string file = ::testing::TempDir() + "/inhibits.yaml";
  std::FILE* f = std::fopen(file.c_str(), "w");
  std::fputs(yaml.c_str(), f);
  std::fclose(f);
  const views::Catalog views = catalog();
  std::vector<std::string> out;
  for (const auto& e : load_rules({file}, &views).errors) out.push_back(e.to_string());
  return out;
}

TEST(ParseTest, ReadsInhibitions) {
  const views::Catalog views = catalog();
  Parsed p = test::parse(station_rules("    inhibits:\n      - {rules: [StationSilent], equal: [district]}\n"), &views);
  ASSERT_TRUE(p.ok()) << p.errors.front().to_string();
  const Inhibition want{"StationsDown", {"StationSilent"}, {"district"}};
  EXPECT_EQ(p.rules.rules[1].inhibits, std::vector<Inhibition>{want});
  EXPECT_EQ(p.rules.inhibitions(), std::vector<Inhibition>{want});
  EXPECT_TRUE(p.rules.rules[0].inhibits.empty());
}

TEST(ParseTest, InhibitionsAreCheckedAgainstTheRulesAndTheirLabels) {
  EXPECT_TRUE(has_error(errors(station_rules("    inhibits: [{rules: [StationSilent], equal: [source_id]}]\n")),
                        "rules[1] (StationsDown).inhibits[0].equal: 'source_id' is not a label of this rule's alerts"));
  EXPECT_TRUE(has_error(errors(station_rules("    inhibits: [{rules: StationsDown}]\n")),
                        "inhibits[0].rules: a rule cannot inhibit its own alerts"));
  EXPECT_TRUE(has_error(errors(station_rules("    inhibits: [{equal: [district]}]\n")), "inhibits[0].rules: is required"));
  EXPECT_TRUE(has_error(errors(station_rules("    inhibits: [{rules: [StationSilent], when: x}]\n")),
                        "inhibits[0].when: unknown key; allowed: rules, equal"));
  // Only the whole set tells whether a rule exists and what labels it has.
  EXPECT_TRUE(has_error(loaded_errors(station_rules("    inhibits: [{rules: [StationGone]}]\n")),
                        "rules (StationsDown).inhibits[0].rules: no rule named 'StationGone'"));
  const std::string circle = station_rules("    inhibits: [{rules: [StationSilent]}]\n") +
                             "  - name: Feed\n    view: station_5m\n    group_by: []\n    absent_for: 5m\n"
                             "    category: c\n    annotations: {summary: s}\n    scenario: y\n"
                             "    inhibits: [{rules: [StationsDown]}]\n";
  EXPECT_TRUE(loaded_errors(circle).empty());
  std::string looped = circle;
  looped.replace(looped.find("    absent_for: 10m\n"), 0, "    inhibits: [{rules: [Feed]}]\n");
  EXPECT_TRUE(has_error(loaded_errors(looped), "rules inhibit each other in a circle (StationSilent -> Feed -> "
                                               "StationsDown -> StationSilent)"));
}

// Internal KPIs and the system's own feeds are not for public warning
// hubs: a rule says so, and CAP carries it as scope Restricted.
TEST(ParseTest, ReadsTheCapScope) {
  const views::Catalog views = catalog();
  Parsed p = test::parse(rule("    cap: {scope: restricted}\n"), &views);
  ASSERT_TRUE(p.ok()) << p.errors[0].to_string();
  EXPECT_EQ(p.rules.rules[0].cap_scope, CapScope::kRestricted);
  EXPECT_FALSE(p.rules.rules[0].cap_restriction.empty());  // CAP requires the text with Restricted
  p = test::parse(rule("    cap: {scope: restricted, restriction: Operations center only}\n"), &views);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.rules.rules[0].cap_restriction, "Operations center only");
  p = test::parse(rule(), &views);
  EXPECT_EQ(p.rules.rules[0].cap_scope, CapScope::kPublic);
  EXPECT_TRUE(has_error(errors(rule("    cap: {scope: private}\n")), "cap.scope: must be public or restricted, got 'private'"));
  EXPECT_TRUE(has_error(errors(rule("    cap: {scope: public, restriction: x}\n")), "cap.restriction: belongs to scope: restricted"));
  EXPECT_TRUE(has_error(errors(rule("    cap: {audience: all}\n")), "audience"));
}

}  // namespace
}  // namespace ioc::rules
