// One catalog, three readers: the value names the aggregator publishes for
// every shipped view (and for a view with every aggregation kind) are
// exactly the names the alerter's rules and the wall accept. Also the
// worked example of docs/extending.md: an air-quality reading goes through
// its view and fires its rule.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "ioc/kafka/topics.hpp"
#include "ioc/rules/evaluator.hpp"
#include "ioc/rules/parse.hpp"
#include "test/pipeline_fixture.hpp"
#include "wall_state.hpp"

namespace ioc {
namespace {

using aggregator::Stream;
using aggregator::testing::Harness;

constexpr std::int64_t kBase = 1719820800000;  // 2024-07-01T08:00:00Z, an hour boundary
constexpr std::int64_t kDay = 24 * 3600 * 1000;

/// Every views file the project ships.
std::vector<std::string> shipped_views_files() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(IOC_DEPLOY_DIR)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.find("views") != std::string::npos && e.path().extension() == ".yaml") {
      out.push_back(e.path().string());
    }
  }
  return out;
}

constexpr const char* kEveryKind = R"y(
views:
  every_kind:
    source: transactions
    group_by: [district, channel]
    window: {tumbling: 1m}
    aggregations:
      - count
      - {name: online, count_where: {channel: online}}
      - {name: total_ms, sum: processing_ms}
      - {name: min_ms, min: processing_ms}
      - {name: max_ms, max: processing_ms}
      - {name: mean_ms, mean: processing_ms}
      - {name: last_ms, last: processing_ms}
      - {name: services, distinct: service_code}
      - {name: ms, quantiles: [0.5, 0.95, 0.999, 0.99995], of: processing_ms}
    ratios:
      online_share: [online, count]
  every_kind_air:
    source: air_quality
    group_by: [district, station_id]
    window: {hopping: 10m, advance: 5m}
    aggregations: [count, {name: pm25, quantiles: [0.9], of: pm25}]
)y";

/// Records of every stream that together match every shipped view's filter,
/// all at `t`.
void feed_every_stream(Harness& h, std::int64_t t) {
  const TimePoint at = from_epoch_ms(t);
  for (const char* category : {"flood", "fire"}) {
    Report r;
    r.id = std::string("r-") + category;
    r.district = "380";
    r.category = category;
    r.source = "api";
    r.occurred_at = r.received_at = at;
    h.feed(Stream::kReports, 0, r, t);
  }
  int n = 0;
  for (const auto status : {TransactionStatus::kSubmitted, TransactionStatus::kCompleted, TransactionStatus::kOverdue}) {
    for (const auto channel : {Channel::kOnline, Channel::kCounter}) {
      ServiceTransaction tx;
      tx.id = "app-" + std::to_string(++n);
      tx.district = "380";
      tx.service_code = n % 2 == 0 ? "1.001234" : "2.000012";
      tx.service_level = ServiceLevel::kFullOnline;
      tx.channel = channel;
      tx.status = status;
      tx.processing_ms = 1000 * n;
      tx.occurred_at = tx.received_at = at;
      h.feed(Stream::kTransactions, 0, tx, t);
    }
  }
  for (const auto kind : {TelemetryKind::kBtsHeartbeat, TelemetryKind::kWaterLevel, TelemetryKind::kRainfall}) {
    Telemetry m;
    m.source_id = "s-" + std::to_string(static_cast<int>(kind));
    m.district = "380";
    m.kind = kind;
    m.value = 2.5;
    m.occurred_at = m.received_at = at;
    h.feed(Stream::kTelemetry, 0, m, t);
  }
  AirQualityReading a{"aq-380", "380", 48.5, 80, 133, at, at};
  h.feed(Stream::kAirQuality, 0, a, t);
}

std::vector<aggregator::UnitId> every_unit() {
  std::vector<aggregator::UnitId> out;
  for (std::size_t s = 0; s < views::kStreams; ++s) out.push_back({static_cast<Stream>(s), 0});
  return out;
}

/// view -> the value names of its published results (each result's, which
/// must all be the same).
std::map<std::string, std::vector<std::string>> published(const views::Catalog& catalog) {
  Harness h(catalog.views(), every_unit());
  h.pipeline().set_now(kBase);
  feed_every_stream(h, kBase);
  h.advance(kBase);             // the batch's advance, as the poll loop does
  h.advance(kBase + 3 * kDay);  // quiet partitions: every window final
  EXPECT_TRUE(h.sink().dead_letters().empty());
  std::map<std::string, std::vector<std::string>> out;
  for (const WindowResult& r : h.sink().results()) {
    std::vector<std::string> names;
    for (const auto& v : r.values) names.push_back(v.name);
    auto [it, first] = out.try_emplace(r.view, names);
    EXPECT_EQ(it->second, names) << "two results of " << r.view << " with different values";
  }
  return out;
}

/// The alerter's verdict on a rule reading `value` of `view`.
std::string rule_errors(const views::Catalog& catalog, const std::string& view, const std::string& value) {
  const std::string yaml = "rules:\n  - name: R\n    view: " + view + "\n    value: \"" + value +
                           "\"\n    fire: \"> 1\"\n    category: other\n    annotations: {summary: x}\n"
                           "    scenario: x\n";
  std::string out;
  for (const auto& e : rules::parse_rules(yaml, "rules.yaml", &catalog).errors) out += e.to_string() + "\n";
  return out;
}

void expect_agreement(const views::Catalog& catalog) {
  const auto names = published(catalog);
  for (const views::ViewConfig& v : catalog.views()) {
    SCOPED_TRACE(catalog.source() + ": " + v.name());
    auto it = names.find(v.name());
    ASSERT_NE(it, names.end()) << "no result published: the test records miss the view's filter";
    EXPECT_EQ(it->second, v.value_names);
    for (const std::string& value : it->second) EXPECT_EQ(rule_errors(catalog, v.name(), value), "") << value;
    EXPECT_NE(rule_errors(catalog, v.name(), "no_such_value"), "");
  }
}

TEST(ValueNamesTest, AggregatorAlerterAndWallAgreeOnEveryShippedView) {
  const auto files = shipped_views_files();
  ASSERT_FALSE(files.empty());
  for (const std::string& file : files) {
    const views::Catalog catalog = views::Catalog::load(file);
    expect_agreement(catalog);
  }
  // The wall reads what the shipped views publish.
  const views::Catalog shipped = views::Catalog::load(IOC_DEPLOY_DIR "/config/views.yaml");
  const auto names = published(shipped);
  for (const views::Need& need : wall::needs(wall::ViewNames{})) {
    SCOPED_TRACE(need.setting);
    ASSERT_TRUE(names.contains(need.view));
    const auto& have = names.at(need.view);
    for (const std::string& value : need.values) {
      EXPECT_NE(std::find(have.begin(), have.end(), value), have.end()) << value;
    }
  }
  EXPECT_NO_THROW(views::require(shipped, wall::needs(wall::ViewNames{})));
}

TEST(ValueNamesTest, AViewWithEveryAggregationKind) {
  const views::Catalog catalog = views::Catalog::parse(kEveryKind, "every-kind.yaml");
  std::set<window::AggregationKind> kinds;
  for (const auto& a : catalog.find("every_kind")->spec.aggregations) kinds.insert(a.kind);
  EXPECT_EQ(kinds.size(), static_cast<std::size_t>(window::AggregationKind::kQuantiles) + 1)
      << "a new aggregation kind belongs in this view";
  expect_agreement(catalog);
  // The quantile 0.99995 keeps its digits everywhere.
  EXPECT_EQ(rule_errors(catalog, "every_kind", "ms_p99.995"), "");
  EXPECT_NE(rule_errors(catalog, "every_kind", "ms_p100"), "");
}

TEST(StreamsTest, EveryStreamsTopicIsInTheTopicPlan) {
  std::set<std::string> planned;
  for (const auto& t : kafka::project_topics(6, 1)) planned.insert(t.name);
  EXPECT_EQ(planned.size(), 9u);
  views::for_each_stream([&](auto s) { EXPECT_TRUE(planned.contains(decltype(s)::kTopic)) << decltype(s)::kTopic; });
}

// docs/extending.md, "Add a stream": the air-quality stream end to end at
// the record-path level. Readings of the simulator's kind go through
// air_quality_10m (deploy/config/views.yaml); the shipped rule
// AirQualityVeryUnhealthy (deploy/config/rules.yaml) fires on the district
// whose air is very unhealthy, and only there.
TEST(AirQualityTest, ReadingsReachTheViewAndFireTheShippedRule) {
  const views::Catalog catalog = views::Catalog::load(IOC_DEPLOY_DIR "/config/views.yaml");
  Harness h(catalog.views(), {{Stream::kAirQuality, 0}});
  h.pipeline().set_now(kBase);
  const std::pair<const char*, double> readings[] = {{"380", 240}, {"380", 260}, {"380", 220}, {"381", 60},
                                                     {"381", 70},  {"381", 80},  {"999", 400}};
  std::int64_t t = kBase;
  for (const auto& [district, aqi] : readings) {
    t += 1000;
    AirQualityReading a{std::string("aq-") + district, district, aqi / 2, aqi, aqi, from_epoch_ms(t), from_epoch_ms(t)};
    h.feed(Stream::kAirQuality, 0, a, t);
  }
  h.advance(t);
  h.advance(kBase + kDay);
  ASSERT_EQ(h.sink().dead_letters().size(), 1u);  // district 999 is not in the registry

  rules::Parsed parsed = rules::load_rules({IOC_DEPLOY_DIR "/config/rules.yaml"}, &catalog);
  ASSERT_TRUE(parsed.ok());
  const Registry registry = aggregator::testing::test_registry();
  rules::Evaluator evaluator(std::move(parsed.rules), &catalog, &registry);
  // The view's early results arrive while its window is open (the rule
  // judges them then); its final results give the exact means.
  const TimePoint arrival = from_epoch_ms(t + 1000);
  std::map<std::string, double> mean;
  for (const WindowResult& r : h.sink().results()) {
    if (r.view != "air_quality_10m") continue;
    if (!r.final) {
      EXPECT_NE(evaluator.add(r, arrival), rules::Ingest::kUnmatched);
      continue;
    }
    for (const auto& v : r.values) {
      if (v.name == "aqi_mean") mean[r.group.at(0).value] = v.value;
    }
  }
  EXPECT_EQ(mean, (std::map<std::string, double>{{"380", 240}, {"381", 70}}));
  std::vector<AlertEvent> events;
  evaluator.evaluate_all(arrival, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].rule, "AirQualityVeryUnhealthy");
  EXPECT_EQ(events[0].state, AlertEvent::State::kFiring);
  EXPECT_EQ(events[0].value, 240);
  EXPECT_EQ(events[0].category, "environment");
  EXPECT_EQ(events[0].group, (std::vector<Label>{{"district", "380"}}));
}

}  // namespace
}  // namespace ioc
