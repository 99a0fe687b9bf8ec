// The record path without a broker: encoded records in, results and dead
// letters out, compared with counts computed here from what was sent.
#include "pipeline.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <random>
#include <tuple>

#include "ioc/core/time_format.hpp"
#include "test/pipeline_fixture.hpp"

namespace ioc::aggregator {
namespace {

using testing::Harness;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::int64_t kBase = 1719820800000;  // 2024-07-01T08:00:00Z, an hour boundary
constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;

const std::vector<std::string> kDistricts{"380", "381", "382"};
const std::vector<std::string> kCategories{"flood", "fire", "traffic"};

Report report(const std::string& id, const std::string& district, const std::string& category, std::int64_t t) {
  Report r;
  r.id = id;
  r.district = district;
  r.category = category;
  r.occurred_at = from_epoch_ms(t);
  r.received_at = from_epoch_ms(t);
  return r;
}

std::string label(const WindowResult& r, const std::string& name) {
  for (const Label& l : r.group) {
    if (l.name == name) return l.value;
  }
  return "";
}

double value(const WindowResult& r, const std::string& name) {
  for (const auto& v : r.values) {
    if (v.name == name) return v.value;
  }
  return -1;
}

std::vector<WindowResult> finals(const std::vector<WindowResult>& all, const std::string& view) {
  std::vector<WindowResult> out;
  for (const auto& r : all) {
    if (r.view == view && r.final) out.push_back(r);
  }
  return out;
}

std::vector<ViewConfig> shipped_views() { return views::Catalog::load(std::string(IOC_DEFAULT_CONFIG_DIR) + "/views.yaml").views(); }

TEST(PipelineTest, CountsPerViewForEveryStream) {
  Harness h(shipped_views(), {{Stream::kReports, 0}, {Stream::kTransactions, 0}, {Stream::kTelemetry, 0}});
  h.pipeline().set_now(kBase + kMinute);
  std::mt19937_64 rng(7);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };

  // Everything happens (and is ingested) within the first minute of the hour.
  std::map<std::pair<std::string, std::string>, int> reports;  // (district, category)
  for (int i = 0; i < 300; ++i) {
    const std::int64_t t = kBase + static_cast<std::int64_t>(rng() % 60'000);
    const auto r = report("r" + std::to_string(i), pick(kDistricts), pick(kCategories), t);
    ++reports[{r.district, r.category}];
    h.feed(Stream::kReports, 0, r, t);
  }
  struct Tx {
    int count = 0, online = 0, completed = 0, overdue = 0;
  };
  std::map<std::string, Tx> tx;
  for (int i = 0; i < 200; ++i) {
    ServiceTransaction t;
    t.id = "a" + std::to_string(i);
    t.district = pick(kDistricts);
    t.service_code = "1.001";
    t.channel = rng() % 3 == 0 ? Channel::kCounter : Channel::kOnline;
    t.status = static_cast<TransactionStatus>(1 + rng() % 3);
    t.processing_ms = static_cast<std::int64_t>(rng() % 10'000);
    const std::int64_t at = kBase + static_cast<std::int64_t>(rng() % 60'000);
    t.occurred_at = t.received_at = from_epoch_ms(at);
    Tx& e = tx[t.district];
    ++e.count;
    e.online += t.channel == Channel::kOnline ? 1 : 0;
    e.completed += t.status == TransactionStatus::kCompleted ? 1 : 0;
    e.overdue += t.status == TransactionStatus::kOverdue ? 1 : 0;
    h.feed(Stream::kTransactions, 0, t, at);
  }
  std::map<std::string, double> rain;   // district: sum
  std::map<std::string, int> stations;  // "district/source/kind": count
  for (int i = 0; i < 200; ++i) {
    Telemetry m;
    m.source_id = "s" + std::to_string(rng() % 7);
    m.district = pick(kDistricts);
    m.kind = rng() % 2 == 0 ? TelemetryKind::kRainfall : TelemetryKind::kBtsHeartbeat;
    m.value = static_cast<double>(rng() % 50);
    const std::int64_t at = kBase + static_cast<std::int64_t>(rng() % 60'000);
    m.occurred_at = m.received_at = from_epoch_ms(at);
    if (m.kind == TelemetryKind::kRainfall) rain[m.district] += m.value;
    ++stations[m.district + "/" + m.source_id + (m.kind == TelemetryKind::kRainfall ? "/rainfall" : "/bts_heartbeat")];
    h.feed(Stream::kTelemetry, 0, m, at);
  }
  h.advance(kBase + kMinute);
  EXPECT_EQ(h.metrics().accepted.Value(), 700);
  EXPECT_EQ(h.metrics().invalid.Value(), 0);
  EXPECT_EQ(h.view_events("reports_1m", "accepted"), 300);
  EXPECT_EQ(h.view_events("transactions_1h", "accepted"), 200);
  EXPECT_TRUE(h.sink().dead_letters().empty());

  // Two days later (quiet partitions: watermarks follow processing time),
  // every window is final.
  h.advance(kBase + 48 * kHour);
  const auto all = h.sink().results();

  const auto r1 = finals(all, "reports_1m");
  ASSERT_EQ(r1.size(), reports.size());
  for (const auto& r : r1) {
    EXPECT_EQ(r.count, (reports[{label(r, "district"), label(r, "category")}])) << label(r, "district");
    EXPECT_EQ(to_epoch_ms(r.window_start), kBase);
    EXPECT_EQ(to_epoch_ms(r.window_end), kBase + kMinute);
    EXPECT_GE(r.revision, kFinalRevision + 1);
    EXPECT_EQ(r.sample_ids.size(), std::min<std::size_t>(5, static_cast<std::size_t>(r.count)));
  }
  // Hopping 15m/1m by ingest time: the minute is in 15 windows.
  const auto r15 = finals(all, "reports_15m");
  ASSERT_EQ(r15.size(), reports.size() * 15);
  for (const auto& r : r15) {
    EXPECT_EQ(r.count, (reports[{label(r, "district"), label(r, "category")}]));
    EXPECT_LE(to_epoch_ms(r.window_start), kBase);
    EXPECT_GT(to_epoch_ms(r.window_end), kBase);
  }
  const auto t1 = finals(all, "transactions_1h");
  ASSERT_EQ(t1.size(), tx.size());
  for (const auto& r : t1) {
    const Tx& e = tx[label(r, "district")];
    EXPECT_EQ(r.count, e.count);
    EXPECT_EQ(value(r, "online"), e.online);
    EXPECT_EQ(value(r, "completed"), e.completed);
    EXPECT_EQ(value(r, "overdue"), e.overdue);
    EXPECT_DOUBLE_EQ(value(r, "online_ratio"), static_cast<double>(e.online) / e.count);
  }
  EXPECT_EQ(finals(all, "transactions_24h").size(), tx.size() * 24);
  for (const auto& r : finals(all, "processing_1h")) {
    const Tx& e = tx[label(r, "district")];
    EXPECT_EQ(r.count, e.completed + e.overdue);
  }
  const auto rf = finals(all, "rainfall_1h");
  ASSERT_EQ(rf.size(), rain.size());
  for (const auto& r : rf) EXPECT_DOUBLE_EQ(value(r, "sum"), rain[label(r, "district")]);
  const auto st = finals(all, "station_5m");
  ASSERT_EQ(st.size(), stations.size());
  for (const auto& r : st) {
    EXPECT_EQ(r.count, stations[label(r, "district") + "/" + label(r, "source_id") + "/" + label(r, "kind")]);
  }
  // Every window closed: no evidence id is needed any more.
  EXPECT_EQ(h.unit(Stream::kReports, 0).samples.size(), 0u);
  EXPECT_EQ(h.unit(Stream::kTransactions, 0).samples.size(), 0u);
}

constexpr const char* kTwoViews = R"(
views:
  by_event:
    source: reports
    group_by: [district]
    time: occurred_at
    window: {tumbling: 1m}
    allowed_lateness: 0s
    out_of_orderness: 0s
    idle_timeout: 0s
    sample_ids: 2
    emit: final
    aggregations: [count]
  by_ingest:
    source: reports
    group_by: [district]
    time: ingest
    window: {tumbling: 1m}
    allowed_lateness: 0s
    out_of_orderness: 0s
    idle_timeout: 0s
    emit: final
    aggregations: [count]
  floods:
    source: reports
    filter: {category: flood}
    group_by: [district]
    window: {tumbling: 1m}
    allowed_lateness: 0s
    out_of_orderness: 0s
    idle_timeout: 0s
    emit: final
    aggregations: [count]
)";

TEST(PipelineTest, PoisonBytesAreDeadLetteredAsInvalid) {
  Harness h(testing::parse_views(kTwoViews, "v.yaml"), {{Stream::kReports, 1}});
  h.pipeline().set_now(kBase);
  h.feed(Stream::kReports, 1, report("r1", "380", "fire", kBase), kBase);
  const auto& poison = h.feed(Stream::kReports, 1, "380", std::string("\xff\xfe\x01garbage", 10), kBase);
  h.feed(Stream::kReports, 1, report("r2", "380", "fire", kBase), kBase);
  h.advance(kBase);
  EXPECT_EQ(h.metrics().invalid.Value(), 1);
  EXPECT_EQ(h.metrics().accepted.Value(), 2);
  const auto dl = h.sink().dead_letters();
  ASSERT_EQ(dl.size(), 1u);
  EXPECT_THAT(std::string(*dl[0].header("ioc.error")), StartsWith("invalid record: "));
  EXPECT_EQ(dl[0].value, poison.value);
  EXPECT_EQ(dl[0].key, "380");
  EXPECT_EQ(*dl[0].header("ioc.source.topic"), kafka::topics::kReports);
  EXPECT_EQ(*dl[0].header("ioc.source.partition"), "1");
  EXPECT_EQ(*dl[0].header("ioc.source.offset"), "1");
  EXPECT_EQ(*dl[0].header("ioc.service"), "ioc-aggregator");
}

TEST(PipelineTest, UnknownDistrictAndCategoryAreInvalid) {
  Harness h(testing::parse_views(kTwoViews, "v.yaml"), {{Stream::kReports, 0}});
  h.pipeline().set_now(kBase);
  h.feed(Stream::kReports, 0, report("r1", "999", "fire", kBase), kBase);
  h.feed(Stream::kReports, 0, report("r2", "380", "volcano", kBase), kBase);
  h.advance(kBase);
  EXPECT_EQ(h.metrics().invalid.Value(), 2);
  EXPECT_EQ(h.metrics().accepted.Value(), 0);
  const auto dl = h.sink().dead_letters();
  ASSERT_EQ(dl.size(), 2u);
  EXPECT_EQ(*dl[0].header("ioc.error"), "unknown district code '999'");
  EXPECT_EQ(*dl[1].header("ioc.error"), "unknown category 'volcano'");
}

TEST(PipelineTest, FutureEventsAreBeyondTheTimeBound) {
  Harness h(testing::parse_views(kTwoViews, "v.yaml"), {{Stream::kReports, 0}});
  h.pipeline().set_now(kBase);
  h.feed(Stream::kReports, 0, report("r1", "380", "fire", kBase + 301'000), kBase);
  h.advance(kBase);
  EXPECT_EQ(h.metrics().beyond_time_bound.Value(), 1);
  ASSERT_EQ(h.sink().dead_letters().size(), 1u);
  EXPECT_THAT(std::string(*h.sink().dead_letters()[0].header("ioc.error")), StartsWith("beyond time bound: occurred_at "));
}

TEST(PipelineTest, LateForOneViewStillCountsInTheOthers) {
  Harness h(testing::parse_views(kTwoViews, "v.yaml"), {{Stream::kReports, 0}});
  h.pipeline().set_now(kBase + 3 * kMinute);
  h.feed(Stream::kReports, 0, report("r1", "380", "flood", kBase + 10'000), kBase + 10'000);
  h.feed(Stream::kReports, 0, report("r2", "380", "flood", kBase + 2 * kMinute), kBase + 2 * kMinute);
  h.advance(kBase + 3 * kMinute);  // [0, 1m) closes in every view: watermarks 2m
  // Happened in the first minute, ingested in the third: late for by_event
  // (whose first window is final) and for floods, counted by by_ingest.
  h.feed(Stream::kReports, 0, report("r3", "380", "flood", kBase + 20'000), kBase + 2 * kMinute + 1);
  h.advance(kBase + 3 * kMinute);
  EXPECT_EQ(h.view_events("by_event", "late"), 1);
  EXPECT_EQ(h.view_events("floods", "late"), 1);
  EXPECT_EQ(h.view_events("by_ingest", "late"), 0);
  EXPECT_EQ(h.view_events("by_ingest", "accepted"), 3);
  EXPECT_EQ(h.metrics().late.Value(), 1);
  EXPECT_EQ(h.metrics().accepted.Value(), 2);
  const auto dl = h.sink().dead_letters();
  ASSERT_EQ(dl.size(), 1u);
  const std::string wm = format_rfc3339(from_epoch_ms(kBase + 2 * kMinute));
  EXPECT_EQ(*dl[0].header("ioc.error"),
            "late for by_event (" + format_rfc3339(from_epoch_ms(kBase + 20'000)) +
                " is beyond the allowed lateness of its window; watermark " + wm + "); floods (" +
                format_rfc3339(from_epoch_ms(kBase + 20'000)) +
                " is beyond the allowed lateness of its window; watermark " + wm + ")");
  EXPECT_EQ(*dl[0].header("ioc.source.offset"), "2");

  // by_ingest's third minute holds r2 and r3 once it closes.
  h.feed(Stream::kReports, 0, report("r4", "380", "fire", kBase + 5 * kMinute), kBase + 5 * kMinute);
  h.advance(kBase + 5 * kMinute);
  std::map<std::int64_t, std::int64_t> ingest;  // window start: count
  for (const auto& r : finals(h.sink().results(), "by_ingest")) ingest[to_epoch_ms(r.window_start) - kBase] = r.count;
  EXPECT_EQ(ingest, (std::map<std::int64_t, std::int64_t>{{0, 1}, {2 * kMinute, 2}}));
}

// Each input partition has its own watermark, and the results of all of
// them share the output topic's partitions: a reader following time needs
// to know whose watermark a result carries.
TEST(PipelineTest, AResultNamesTheInputPartitionWhoseWatermarkItCarries) {
  Harness h(testing::parse_views(kTwoViews, "v.yaml"), {{Stream::kReports, 0}, {Stream::kReports, 3}});
  h.pipeline().set_now(kBase + 3 * kMinute);
  h.feed(Stream::kReports, 0, report("r1", "380", "flood", kBase + 10'000), kBase + 10'000);
  h.feed(Stream::kReports, 0, report("r2", "380", "flood", kBase + 2 * kMinute), kBase + 2 * kMinute);
  h.feed(Stream::kReports, 3, report("r3", "381", "flood", kBase + 20'000), kBase + 20'000);
  h.feed(Stream::kReports, 3, report("r4", "381", "flood", kBase + 2 * kMinute), kBase + 2 * kMinute);
  h.advance(kBase + 3 * kMinute);
  std::map<std::string, std::set<std::int32_t>> from;  // district: input partitions
  for (const WindowResult& r : h.sink().results()) {
    if (r.view == "by_event") from[r.group.at(0).value].insert(r.input_partition);
  }
  EXPECT_EQ(from, (std::map<std::string, std::set<std::int32_t>>{{"380", {0}}, {"381", {3}}}));
}

TEST(PipelineTest, UnmatchedRecordsAreCounted) {
  auto views = testing::parse_views(kTwoViews, "v.yaml");
  views.erase(views.begin(), views.begin() + 2);  // floods only
  Harness h(std::move(views), {{Stream::kReports, 0}});
  h.pipeline().set_now(kBase);
  h.feed(Stream::kReports, 0, report("r1", "380", "fire", kBase), kBase);
  h.feed(Stream::kReports, 0, report("r2", "380", "flood", kBase), kBase);
  h.feed(Stream::kReports, 0, report("r3", "381", "traffic", kBase), kBase);
  h.advance(kBase);
  EXPECT_EQ(h.metrics().unmatched.Value(), 2);
  EXPECT_EQ(h.metrics().accepted.Value(), 1);
  EXPECT_TRUE(h.sink().dead_letters().empty());
}

TEST(PipelineTest, AnOffsetGapIsCountedAsPruned) {
  Harness h(testing::parse_views(kTwoViews, "v.yaml"), {{Stream::kReports, 0}});
  h.pipeline().set_now(kBase);
  h.feed(Stream::kReports, 0, report("r1", "380", "fire", kBase), kBase);
  h.log().skip(kafka::topics::kReports, 0, 7);
  h.feed(Stream::kReports, 0, report("r2", "380", "fire", kBase), kBase);
  h.advance(kBase);
  EXPECT_EQ(h.metrics().pruned.Value(), 7);
  EXPECT_EQ(h.metrics().accepted.Value(), 2);
  EXPECT_EQ(h.unit(Stream::kReports, 0).next_offset, 9);
}

TEST(PipelineTest, EarlyRevisionsThenAFinalAboveThem) {
  Harness h(testing::parse_views(R"(
views:
  v:
    source: reports
    group_by: [district]
    window: {tumbling: 1m}
    allowed_lateness: 0s
    out_of_orderness: 0s
    idle_timeout: 0s
    emit: {mode: both, interval: 1s}
    sample_ids: 2
    aggregations: [count]
)",
                        "v.yaml"),
            {{Stream::kReports, 0}});
  h.pipeline().set_now(kBase + kMinute);
  h.feed(Stream::kReports, 0, report("r1", "380", "fire", kBase + 1'000), kBase);
  h.feed(Stream::kReports, 0, report("r2", "380", "fire", kBase + 2'000), kBase);
  h.advance(kBase + kMinute);
  h.feed(Stream::kReports, 0, report("r3", "380", "fire", kBase + 3'000), kBase);
  h.advance(kBase + kMinute + 1'000);
  EXPECT_EQ(h.unit(Stream::kReports, 0).samples.size(), 2u);  // the window's evidence, until it closes
  h.feed(Stream::kReports, 0, report("r4", "380", "fire", kBase + kMinute), kBase);  // closes [0, 1m)
  h.advance(kBase + kMinute + 2'000);
  const auto all = h.sink().results();
  std::vector<std::tuple<std::uint64_t, bool, std::int64_t>> got;  // [0, 1m): revision, final, count
  for (const auto& r : all) {
    if (to_epoch_ms(r.window_start) == kBase) got.emplace_back(r.revision, r.final, r.count);
  }
  constexpr std::uint64_t kEpoch1 = std::uint64_t{1} << 32;  // a fresh unit's epoch
  EXPECT_EQ(got, (std::vector<std::tuple<std::uint64_t, bool, std::int64_t>>{
                     {kEpoch1 + 1, false, 2}, {kEpoch1 + 2, false, 3}, {kEpoch1 + kFinalRevision + 3, true, 3}}));
  const auto out = h.sink().outbox.on(kafka::topics::kAggregates);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().key, window_result_key(all.back()));
  ASSERT_EQ(finals(all, "v").size(), 1u);
  EXPECT_EQ(finals(all, "v")[0].sample_ids, (std::vector<std::string>{"r1", "r2"}));
  // The closed window's evidence is forgotten; the open one's kept (r4).
  EXPECT_EQ(h.unit(Stream::kReports, 0).samples.size(), 1u);
  EXPECT_EQ(h.unit(Stream::kReports, 0).samples.find(record_ref(0, 3)), "r4");
  // The final came 2 s (processing time) after its window's end.
  const auto delay = h.metrics().final_delay.Add({{"view", "v"}}, prometheus::Histogram::BucketBoundaries{}).Collect();
  EXPECT_EQ(delay.histogram.sample_count, 1u);
  EXPECT_DOUBLE_EQ(delay.histogram.sample_sum, 2.0);
}

TEST(PipelineTest, EvidenceIsKeptUntilItsWindowCanNoLongerEmit) {
  Harness h(testing::parse_views(R"(
views:
  v:
    source: reports
    group_by: [district]
    window: {tumbling: 1m}
    allowed_lateness: 30s
    out_of_orderness: 10s
    idle_timeout: 0s
    emit: final
    sample_ids: 3
    aggregations: [count]
)",
                        "v.yaml"),
            {{Stream::kReports, 0}});
  const std::uint64_t r1 = record_ref(0, 0);
  h.pipeline().set_now(kBase + 2 * kMinute);
  h.feed(Stream::kReports, 0, report("r1", "380", "fire", kBase + 10'000), kBase);
  // Watermark 1m25s: [0, 1m) is past its end, not past end + lateness.
  h.feed(Stream::kReports, 0, report("r2", "380", "fire", kBase + 95'000), kBase);
  h.advance(kBase + 2 * kMinute);
  EXPECT_EQ(h.unit(Stream::kReports, 0).samples.find(r1), "r1");
  EXPECT_TRUE(h.sink().results().empty());
  // Watermark 1m35s: the window closes with r1 as its evidence, and r1 goes.
  h.feed(Stream::kReports, 0, report("r3", "380", "fire", kBase + 105'000), kBase);
  h.advance(kBase + 2 * kMinute);
  const auto f = finals(h.sink().results(), "v");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].sample_ids, (std::vector<std::string>{"r1"}));
  EXPECT_EQ(h.unit(Stream::kReports, 0).samples.find(r1), "");
  EXPECT_EQ(h.unit(Stream::kReports, 0).samples.size(), 2u);  // r2, r3: [1m, 2m) is open
}

TEST(PipelineTest, ACheckpointRestoresWindowsLabelsAndEvidence) {
  const auto views = testing::parse_views(kTwoViews, "v.yaml");
  Harness a(views, {{Stream::kReports, 0}});
  a.pipeline().set_now(kBase);
  a.feed(Stream::kReports, 0, report("r1", "380", "fire", kBase + 1'000), kBase);
  a.feed(Stream::kReports, 0, report("r2", "381", "fire", kBase + 2'000), kBase);
  a.advance(kBase);
  const Checkpoint c = a.pipeline().make_checkpoint(a.unit(Stream::kReports, 0));
  EXPECT_EQ(c.next_offset, 2);
  ASSERT_EQ(c.samples.size(), 2u);
  EXPECT_EQ(c.samples[0].time_ms, kBase + kMinute);  // end of its window, no lateness or out-of-orderness

  Harness b(views, {});
  Unit& u = b.pipeline().add_unit(Stream::kReports, 0);
  const auto fresh = b.pipeline().restore(u, decode_checkpoint(encode_checkpoint(c)).value());
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(*fresh, 0u);  // every view restored
  EXPECT_EQ(u.next_offset, c.next_offset);
  EXPECT_EQ(u.epoch, c.epoch + 1);
  EXPECT_FALSE(u.sealed);
  u.sealed = true;
  b.pipeline().set_now(kBase);
  b.log().skip(kafka::topics::kReports, 0, 2);
  b.feed(Stream::kReports, 0, report("r3", "380", "fire", kBase + 2 * kMinute), kBase + 2 * kMinute);
  b.advance(kBase + 1);
  std::map<std::string, std::vector<std::string>> ids;
  for (const auto& r : finals(b.sink().results(), "by_event")) ids[label(r, "district")] = r.sample_ids;
  EXPECT_EQ(ids, (std::map<std::string, std::vector<std::string>>{{"380", {"r1"}}, {"381", {"r2"}}}));
  EXPECT_EQ(b.metrics().pruned.Value(), 0);
}

// Regression: a restored unit checkpointed again before reading anything
// (a window closing on a quiet partition) stored the identity of its last
// record as zeros, and the next restart judged its log "replaced", threw
// the state away and published revisions from 1 again.
TEST(PipelineTest, ARestoredUnitKeepsTheIdentityOfItsLastRecord) {
  const auto views = testing::parse_views(kTwoViews, "v.yaml");
  Harness a(views, {{Stream::kReports, 0}});
  a.pipeline().set_now(kBase);
  const auto& last = a.feed(Stream::kReports, 0, report("r1", "380", "fire", kBase + 1'000), kBase);
  a.advance(kBase);
  const Checkpoint first = a.pipeline().make_checkpoint(a.unit(Stream::kReports, 0));
  EXPECT_EQ(first.last_record_ms, last.timestamp_ms);
  EXPECT_EQ(first.last_record_id, record_identity(last.key, last.value.size(), last.timestamp_ms));

  Harness b(views, {});
  Unit& u = b.pipeline().add_unit(Stream::kReports, 0);
  ASSERT_TRUE(b.pipeline().restore(u, first).ok());
  const Checkpoint second = b.pipeline().make_checkpoint(u);  // no record read since
  EXPECT_EQ(second.next_offset, first.next_offset);
  EXPECT_EQ(second.last_record_ms, first.last_record_ms);
  EXPECT_EQ(second.last_record_id, first.last_record_id);
  EXPECT_EQ(second.epoch, first.epoch + 1);
}

// A revision names one value: a restored unit publishes nothing until its
// new epoch is sealed (checkpointed), then above everything its
// predecessor may have published after the checkpoint.
TEST(PipelineTest, ARestoredUnitPublishesUnderANewEpochOnceSealed) {
  const auto views = testing::parse_views(R"(
views:
  v:
    source: reports
    group_by: [district]
    window: {tumbling: 1m}
    allowed_lateness: 0s
    out_of_orderness: 0s
    idle_timeout: 0s
    emit: {mode: both, interval: 1s}
    aggregations: [count]
)",
                                 "v.yaml");
  Harness a(views, {{Stream::kReports, 0}});
  a.pipeline().set_now(kBase);
  a.feed(Stream::kReports, 0, report("r1", "380", "fire", kBase + 1'000), kBase);
  a.advance(kBase);
  const Checkpoint c = a.pipeline().make_checkpoint(a.unit(Stream::kReports, 0));
  // The predecessor goes on publishing after its checkpoint, then dies.
  for (int i = 2; i <= 5; ++i) {
    a.feed(Stream::kReports, 0, report("r" + std::to_string(i), "380", "fire", kBase + i * 1'000), kBase);
    a.advance(kBase + i * 1'000);
  }
  std::uint64_t predecessor_top = 0;
  for (const auto& r : a.sink().results()) predecessor_top = std::max(predecessor_top, r.revision);

  Harness b(views, {});
  b.log() = a.log();
  Unit& u = b.pipeline().add_unit(Stream::kReports, 0);
  ASSERT_TRUE(b.pipeline().restore(u, c).ok());
  b.pipeline().set_now(kBase + 10'000);
  b.reread(Stream::kReports, 0, c.next_offset);  // the replay after the checkpoint
  b.feed(Stream::kReports, 0, report("x", "380", "fire", kBase + 6'000), kBase);
  b.advance(kBase + 10'000);
  EXPECT_TRUE(b.sink().results().empty()) << "published before its epoch was checkpointed";
  EXPECT_EQ(b.pipeline().make_checkpoint(u).epoch, c.epoch + 1);
  u.sealed = true;
  b.advance(kBase + 11'000);
  const auto results = b.sink().results();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].count, 6);
  EXPECT_GT(results[0].revision, predecessor_top);
  EXPECT_EQ(results[0].revision >> 32, c.epoch + 1);
}

// views.yaml changed between two runs: the unchanged view keeps its
// windows; the changed and the added view are filled from the log again
// (records below the checkpoint's offset count for them only); the removed
// view is gone. Nothing is counted or dead-lettered twice.
TEST(PipelineTest, ChangedViewsAreFilledFromTheLogAndTheOthersKeepTheirWindows) {
  const auto before = testing::parse_views(kTwoViews, "v.yaml");
  Harness a(before, {{Stream::kReports, 0}});
  a.pipeline().set_now(kBase);
  a.feed(Stream::kReports, 0, report("r1", "380", "fire", kBase + 1'000), kBase);
  a.feed(Stream::kReports, 0, report("r2", "380", "flood", kBase + 2'000), kBase);
  a.feed(Stream::kReports, 0, "380", std::string("\xff\xfe\x01garbage", 10), kBase);
  a.feed(Stream::kReports, 0, report("r3", "381", "flood", kBase + 3'000), kBase);
  a.advance(kBase);
  const Checkpoint c = a.pipeline().make_checkpoint(a.unit(Stream::kReports, 0));
  ASSERT_EQ(c.next_offset, 4);

  // by_event unchanged; floods now counts fires too (changed); by_category added; by_ingest removed.
  const auto after = testing::parse_views(R"(
views:
  by_event:
    source: reports
    group_by: [district]
    time: occurred_at
    window: {tumbling: 1m}
    allowed_lateness: 0s
    out_of_orderness: 0s
    idle_timeout: 0s
    sample_ids: 2
    emit: final
    aggregations: [count]
  floods:
    source: reports
    filter: {category: [flood, fire]}
    group_by: [district]
    window: {tumbling: 1m}
    allowed_lateness: 0s
    out_of_orderness: 0s
    idle_timeout: 0s
    emit: final
    aggregations: [count]
  by_category:
    source: reports
    group_by: [district, category]
    window: {tumbling: 1m}
    allowed_lateness: 0s
    out_of_orderness: 0s
    idle_timeout: 0s
    emit: final
    aggregations: [count]
)",
                                 "v.yaml");
  Harness b(after, {});
  b.log() = a.log();
  Unit& u = b.pipeline().add_unit(Stream::kReports, 0);
  const auto fresh = b.pipeline().restore(u, c);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(*fresh, SampleIds::view_bit(1) | SampleIds::view_bit(2));
  u.backfill_below = c.next_offset;
  u.backfill_views = *fresh;
  u.sealed = true;
  b.pipeline().set_now(kBase);
  b.reread(Stream::kReports, 0, 0);  // the consumer seeks to the log start
  EXPECT_EQ(u.backfill_below, -1) << "the range was read";
  EXPECT_EQ(u.next_offset, c.next_offset);
  b.feed(Stream::kReports, 0, report("r4", "380", "flood", kBase + 4'000), kBase);
  b.feed(Stream::kReports, 0, report("w", "382", "fire", kBase + 2 * kMinute), kBase);  // closes [0, 1m)
  b.advance(kBase);

  std::map<std::string, std::int64_t> counts;  // view|group -> final count of [0, 1m)
  for (const auto& r : b.sink().results()) {
    if (r.final && to_epoch_ms(r.window_start) == kBase) {
      std::string group;
      for (const auto& l : r.group) group += "/" + l.value;
      counts[r.view + group] = r.count;
    }
  }
  EXPECT_EQ(counts, (std::map<std::string, std::int64_t>{{"by_event/380", 3},
                                                         {"by_event/381", 1},
                                                         {"floods/380", 3},
                                                         {"floods/381", 1},
                                                         {"by_category/380/fire", 1},
                                                         {"by_category/380/flood", 2},
                                                         {"by_category/381/flood", 1}}));
  EXPECT_EQ(b.sink().dead_letters().size(), 0u) << "the poison record was dead-lettered before";
  EXPECT_EQ(b.metrics().accepted.Value(), 2);  // r4 and w: the others were counted before
  EXPECT_EQ(b.view_events("by_category", "accepted"), 5);
  EXPECT_EQ(b.view_events("by_event", "accepted"), 2);
  EXPECT_EQ(u.next_offset, 6);
}

// Regression: a replica that could not read a freshly assigned partition's
// log end (a real cluster still electing leaders) and had not fetched it
// yet took "unknown" for "nothing waiting"; after idle_timeout the
// watermark followed the wall clock and the partition's records, three
// days old, were dead-lettered as late.
TEST(PipelineTest, OnlyAPartitionKnownToBeReadToItsEndIsQuiet) {
  const auto views = testing::parse_views(kTwoViews, "v.yaml");
  Harness h(views, {});
  Unit& u = h.pipeline().add_unit(Stream::kReports, 0);
  EXPECT_TRUE(records_wait(u, -1)) << "nothing known";
  u.next_offset = 0;
  EXPECT_TRUE(records_wait(u, -1)) << "position known, log end not";
  u.assigned_log_end = 175;
  EXPECT_TRUE(records_wait(u, -1)) << "records below the log end seen at assignment";
  u.next_offset = 175;
  EXPECT_FALSE(records_wait(u, -1)) << "read up to the log end seen at assignment";
  EXPECT_TRUE(records_wait(u, 3)) << "the consumer knows of three more";
  EXPECT_FALSE(records_wait(u, 0)) << "the consumer read all it knows of";
}

// A report id counts once in every view, whoever writes it again (a
// producer's retry, a spool replayed twice, a tool): the copies are counted
// as duplicates and dead-lettered nowhere, also after a restore, and views
// added since the checkpoint backfill each id once.
TEST(PipelineTest, AReportIdCountsOnceInEveryView) {
  constexpr const char* kView = R"(
views:
  by_ingest:
    source: reports
    group_by: [district]
    time: ingest
    window: {tumbling: 1m}
    allowed_lateness: 0s
    out_of_orderness: 0s
    idle_timeout: 0s
    emit: final
    aggregations: [count]
)";
  const auto views = testing::parse_views(kView, "v.yaml");
  Harness a(views, {{Stream::kReports, 0}});
  a.pipeline().set_now(kBase);
  a.feed(Stream::kReports, 0, report("r1", "380", "fire", kBase + 1'000), kBase + 1'000);
  a.feed(Stream::kReports, 0, report("r1", "380", "fire", kBase + 1'000), kBase + 1'000);   // the same bytes again
  a.feed(Stream::kReports, 0, report("r1", "381", "flood", kBase + 1'500), kBase + 1'500);  // another report, same id
  a.feed(Stream::kReports, 0, report("r2", "380", "fire", kBase + 2'000), kBase + 2'000);
  a.advance(kBase);
  EXPECT_EQ(a.metrics().duplicate.Value(), 2);
  EXPECT_EQ(a.metrics().accepted.Value(), 2);
  const Checkpoint c = a.pipeline().make_checkpoint(a.unit(Stream::kReports, 0));
  const auto r1 = SeenIds::key_of("r1");
  const auto r2 = SeenIds::key_of("r2");
  EXPECT_EQ(c.seen_ids, (std::vector<std::uint64_t>{r1.hi, r1.lo, r2.hi, r2.lo}));
  const auto decoded = decode_checkpoint(encode_checkpoint(c));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, c);

  // Restored: r1 is still known; a view added since backfills r1 and r2 once.
  auto more = views;
  auto added = testing::parse_views(std::string(kView).replace(std::string(kView).find("by_ingest"), 9, "by_later"),
                                    "v.yaml");
  more.push_back(added[0]);
  Harness b(more, {});
  b.log() = a.log();
  Unit& u = b.pipeline().add_unit(Stream::kReports, 0);
  const auto fresh = b.pipeline().restore(u, *decoded);
  ASSERT_TRUE(fresh.ok());
  u.backfill_below = c.next_offset;
  u.backfill_views = *fresh;
  u.sealed = true;
  b.pipeline().set_now(kBase);
  b.reread(Stream::kReports, 0, 0);
  b.feed(Stream::kReports, 0, report("r1", "380", "fire", kBase + 3'000), kBase + 3'000);
  b.feed(Stream::kReports, 0, report("r3", "380", "fire", kBase + 4'000), kBase + 4'000);
  b.feed(Stream::kReports, 0, report("w", "382", "fire", kBase + 2 * kMinute), kBase + 2 * kMinute);  // closes [0, 1m)
  b.advance(kBase);
  std::map<std::string, std::int64_t> counts;
  for (const auto& r : b.sink().results()) {
    if (r.final && to_epoch_ms(r.window_start) == kBase) counts[r.view + "/" + label(r, "district")] = r.count;
  }
  EXPECT_EQ(counts, (std::map<std::string, std::int64_t>{{"by_ingest/380", 3}, {"by_later/380", 3}}));
  EXPECT_EQ(b.metrics().duplicate.Value(), 1);
  EXPECT_EQ(b.sink().dead_letters().size(), 0u);
}

TEST(SeenIdsTest, AnIdIsADuplicateWithinTheWindowOfIngestTime) {
  SeenIds seen(kHour);
  EXPECT_TRUE(seen.first("a", kBase));
  EXPECT_FALSE(seen.first("a", kBase + 10));
  EXPECT_TRUE(seen.first("", kBase));
  EXPECT_TRUE(seen.first("", kBase)) << "no id, no duplicate";
  EXPECT_TRUE(seen.first("b", kBase + kHour));
  EXPECT_FALSE(seen.first("a", kBase + kHour)) << "exactly a window later: still known";
  EXPECT_TRUE(seen.first("c", kBase + kHour + 1)) << "a record past the window ...";
  EXPECT_TRUE(seen.first("a", kBase + kHour + 1)) << "... makes the oldest ids leave";
  std::vector<SeenIds::Key> ids;
  seen.for_each([&](SeenIds::Key id, std::int64_t) { ids.push_back(id); });
  EXPECT_EQ(ids, (std::vector<SeenIds::Key>{SeenIds::key_of("b"), SeenIds::key_of("c"), SeenIds::key_of("a")}));
  EXPECT_GT(seen.bytes(), 0u);
}

TEST(SeenIdsTest, AUuidIsKeptAsItsValueAnyOtherIdAsItsNameHash) {
  const auto k = SeenIds::key_of("0192f5e0-3c4a-7b1e-8a2d-3f4e5a6b7c8d");
  EXPECT_EQ(k.hi, 0x0192f5e03c4a7b1eULL);
  EXPECT_EQ(k.lo, 0x8a2d3f4e5a6b7c8dULL);
  // Upper case is another string, so another id: hashed, not parsed.
  EXPECT_NE(SeenIds::key_of("0192F5E0-3C4A-7B1E-8A2D-3F4E5A6B7C8D"), k);
  EXPECT_NE(SeenIds::key_of("r-1"), SeenIds::key_of("r-2"));
  EXPECT_EQ(SeenIds::key_of("r-1"), SeenIds::key_of("r-1"));

  SeenIds off(0);
  EXPECT_TRUE(off.first("a", kBase));
  EXPECT_TRUE(off.first("a", kBase));
  EXPECT_EQ(off.size(), 0u);
}

}  // namespace
}  // namespace ioc::aggregator
