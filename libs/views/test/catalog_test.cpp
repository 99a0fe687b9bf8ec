#include "ioc/views/catalog.hpp"

#include <gtest/gtest.h>

#include "ioc/core/config_error.hpp"

namespace ioc::views {
namespace {

std::string error_of(const std::string& yaml) {
  try {
    (void)Catalog::parse(yaml, "v.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(CatalogTest, TheShippedViewsLoad) {
  const auto views = Catalog::load(std::string(IOC_DEFAULT_CONFIG_DIR) + "/views.yaml").views();
  ASSERT_GE(views.size(), 10u);
  const auto find = [&](const std::string& name) -> const ViewConfig& {
    for (const auto& v : views) {
      if (v.spec.name == name) return v;
    }
    throw std::runtime_error("no view " + name);
  };
  const ViewConfig& tx = find("transactions_1h");
  EXPECT_EQ(tx.stream, Stream::kTransactions);
  EXPECT_EQ(tx.value_names, (std::vector<std::string>{"count", "online", "completed", "overdue", "online_ratio",
                                                      "overdue_ratio"}));
  ASSERT_EQ(tx.ratios.size(), 2u);
  EXPECT_EQ(tx.ratios[1].denominator, (std::vector<std::size_t>{2, 3}));
  const ViewConfig& r15 = find("reports_15m");
  EXPECT_EQ(r15.time, TimeAttribute::kIngest);
  EXPECT_EQ(r15.spec.window.kind, window::WindowKind::kHopping);
  EXPECT_EQ(r15.group_names, (std::vector<std::string>{"district", "category"}));
  const ViewConfig& p = find("processing_1h");
  EXPECT_EQ(p.value_names, (std::vector<std::string>{"processing_ms_p50", "processing_ms_p95"}));
  ASSERT_TRUE(p.value_field.has_value());
  EXPECT_EQ(field_name(p.stream, *p.value_field), "processing_ms");
  ASSERT_EQ(p.filter.size(), 1u);
  const ViewConfig& s = find("stations_5m");
  ASSERT_TRUE(s.distinct_field.has_value());
  EXPECT_EQ(field_name(s.stream, *s.distinct_field), "source_id");
  EXPECT_EQ(find("reports_1m").spec.allowed_lateness, std::chrono::hours(6));
}

TEST(CatalogTest, ErrorsNameTheFileLineKeyAndWhatIsAllowed) {
  const std::string head = "views:\n  v:\n    source: reports\n    group_by: [district]\n";
  EXPECT_EQ(error_of(head + "    window: {tumbling: 1m}\n    aggregations: [count]\n"), "");
  EXPECT_EQ(error_of(head + "    window: {tumbling: 1m}\n"),
            "v.yaml:3: views.v.aggregations: missing; e.g. aggregations: [count]");
  EXPECT_EQ(error_of(head + "    window: {tumbling: soon}\n    aggregations: [count]\n"),
            "v.yaml:5: views.v.window.tumbling: must be a duration such as 30s, 5m, 1h or 1d greater than 0, got "
            "'soon'");
  EXPECT_EQ(error_of(head + "    window: {hopping: 15m}\n    aggregations: [count]\n"),
            "v.yaml:5: views.v.window.advance: a hopping window needs an advance, e.g. {hopping: 15m, advance: 1m}");
  EXPECT_EQ(error_of("views:\n  v:\n    source: reports\n    group_by: [category]\n    window: {tumbling: 1m}\n"
                     "    aggregations: [count]\n"),
            "v.yaml:4: views.v.group_by: must include district (input topics are partitioned by district)");
  EXPECT_EQ(error_of("views:\n  v:\n    source: reports\n    group_by: [district, kind]\n    window: {tumbling: 1m}\n"
                     "    aggregations: [count]\n"),
            "v.yaml:4: views.v.group_by: 'kind' is not a text field of reports; allowed: district, category, "
            "source, id");
  EXPECT_EQ(error_of(head + "    window: {tumbling: 1m}\n    aggregations: [count]\n    emit: sometimes\n"),
            "v.yaml:7: views.v.emit.mode: must be final, updates or both, got 'sometimes'");
  EXPECT_EQ(error_of("views:\n  v:\n    source: transactions\n    group_by: [district]\n    window: {tumbling: 1h}\n"
                     "    aggregations: [{name: x, count_where: {channel: web}}]\n"),
            "v.yaml:6: views.v.aggregations[0].count_where: 'web' is not a value of channel; allowed: online, "
            "counter");
  EXPECT_EQ(error_of("views:\n  v:\n    source: telemetry\n    group_by: [district]\n    window: {tumbling: 1h}\n"
                     "    aggregations: [{name: a, max: value}, {name: b, max: occurred_at}]\n"),
            "v.yaml:6: views.v.aggregations[1].max: a view aggregates one numeric field; this view already reads "
            "value (make a second view for occurred_at)");
  EXPECT_EQ(error_of(head + "    window: {tumbling: 1m}\n    aggregations: [count]\n    ratios: {r: [count, nope]}\n"),
            "v.yaml:7: views.v.ratios.r: 'nope' is not a value of this view; values: count");
  EXPECT_EQ(error_of(head + "    window: {tumbling: 1m}\n    aggregations: [count]\n    gauges: {values: [count]}\n"),
            "v.yaml:7: views.v.gauges.max_series: missing: bound the label cardinality, e.g. max_series: 1000");
  EXPECT_EQ(error_of(head + "    window: {tumbling: 1m}\n    aggregations: [count]\n    colour: red\n"),
            "v.yaml:7: views.v.colour: unknown key; allowed: aggregations, allowed_lateness, emit, filter, gauges, "
            "group_by, idle_timeout, out_of_orderness, ratios, sample_ids, source, time, window");
  EXPECT_EQ(error_of("views: [\n"), "v.yaml:2: views: invalid YAML: end of sequence flow not found");
}


TEST(CatalogTest, SourceNamesEveryStream) {
  EXPECT_EQ(error_of("views:\n  v:\n    source: weather\n    group_by: [district]\n    window: {tumbling: 1m}\n"
                     "    aggregations: [count]\n"),
            "v.yaml:3: views.v.source: must be one of reports, transactions, telemetry, air_quality, got 'weather'");
}

// A quantile's value is named once (window::value_names), with enough
// digits to tell 0.99995 from 1: the alerter and the wall read the same
// names the aggregator publishes.
TEST(CatalogTest, QuantileNamesKeepTheirDigits) {
  const Catalog c = Catalog::parse("views:\n  v:\n    source: transactions\n    group_by: [district]\n"
                                   "    window: {tumbling: 1h}\n"
                                   "    aggregations: [{name: ms, quantiles: [0.5, 0.999, 0.99995], of: processing_ms}]\n",
                                   "v.yaml");
  const ViewConfig* v = c.find("v");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->value_names, (std::vector<std::string>{"ms_p50", "ms_p99.9", "ms_p99.995"}));
  EXPECT_TRUE(v->has_value("ms_p99.995"));
  EXPECT_FALSE(v->has_value("ms_p100"));
}

TEST(CatalogTest, RequireNamesTheSettingViewAndValue) {
  const Catalog c = Catalog::load(std::string(IOC_DEFAULT_CONFIG_DIR) + "/views.yaml");
  EXPECT_NO_THROW(require(c, {{"wall.views.transactions", "transactions_1h", {"count", "online"}, {"district"}}}));
  auto error = [&](const Need& need) {
    try {
      require(c, {need});
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string file = std::string(IOC_DEFAULT_CONFIG_DIR) + "/views.yaml";
  EXPECT_EQ(error({"wall.views.processing", "processing_1h", {"processing_ms_p99"}, {}}),
            file + ": wall.views.processing: view 'processing_1h' has no value 'processing_ms_p99' (its values: "
                   "processing_ms_p50, processing_ms_p95)");
  EXPECT_EQ(error({"wall.views.stations", "station_5m", {"count"}, {"station"}}),
            file + ": wall.views.stations: view 'station_5m' is not grouped by 'station' (its labels: district, "
                   "source_id, kind)");
  EXPECT_NE(error({"wall.views.reports", "reports_2m", {"count"}, {}}).find("view 'reports_2m' is not in the views file"),
            std::string::npos);
}

TEST(CatalogTest, LoadNamesTheSettingOfAnUnreadableFile) {
  try {
    (void)Catalog::load("/nonexistent/views.yaml", "wall.views");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/views.yaml: wall.views: cannot read the views file");
  }
}

}  // namespace
}  // namespace ioc::views
