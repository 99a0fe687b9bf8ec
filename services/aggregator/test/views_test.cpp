#include "views.hpp"

#include <gtest/gtest.h>

#include "ioc/core/config_error.hpp"

namespace ioc::aggregator {
namespace {

std::string error_of(const std::string& yaml) {
  try {
    parse_views(yaml, "v.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ViewsTest, TheShippedViewsLoad) {
  const auto views = load_views(std::string(IOC_DEFAULT_CONFIG_DIR) + "/views.yaml");
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
  EXPECT_EQ(p.value_field, Field::kProcessingMs);
  ASSERT_EQ(p.filter.size(), 1u);
  EXPECT_EQ(find("stations_5m").distinct_field, Field::kSourceId);
  EXPECT_EQ(find("reports_1m").spec.allowed_lateness, std::chrono::hours(6));
}

TEST(ViewsTest, ErrorsNameTheFileLineKeyAndWhatIsAllowed) {
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

TEST(ViewsTest, RecordFieldsByStream) {
  Record r;
  ServiceTransaction t;
  t.id = "app-1";
  t.district = "380";
  t.channel = Channel::kOnline;
  t.status = TransactionStatus::kOverdue;
  t.processing_ms = 5000;
  t.occurred_at = from_epoch_ms(60'000);
  t.received_at = from_epoch_ms(61'000);
  r.set(t, 62'000);
  EXPECT_EQ(r.text(Field::kChannel), "online");
  EXPECT_EQ(r.text(Field::kStatus), "overdue");
  EXPECT_EQ(r.text(Field::kCategory), "");
  EXPECT_EQ(r.number(Field::kProcessingMs), 5000.0);
  EXPECT_EQ(r.number(Field::kOccurredAt), 60.0);
  EXPECT_FALSE(r.number(Field::kDistrict).has_value());
  EXPECT_EQ(r.time_ms(TimeAttribute::kOccurredAt), 60'000);
  EXPECT_EQ(r.time_ms(TimeAttribute::kReceivedAt), 61'000);
  EXPECT_EQ(r.time_ms(TimeAttribute::kIngest), 62'000);
  EXPECT_EQ(r.id(), "app-1");

  Telemetry m;
  m.source_id = "bts-380-0001";
  m.district = "380";
  m.kind = TelemetryKind::kBtsHeartbeat;
  m.value = 1;
  r.set(m);
  EXPECT_EQ(r.text(Field::kKind), "bts_heartbeat");
  EXPECT_EQ(r.text(Field::kSourceId), "bts-380-0001");
  EXPECT_EQ(r.number(Field::kValue), 1.0);
  EXPECT_EQ(r.id(), "bts-380-0001");
}

}  // namespace
}  // namespace ioc::aggregator
