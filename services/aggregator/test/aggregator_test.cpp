// The aggregator against the in-process mock broker, driven by a manual
// clock: exact counts per district × category, late records dead-lettered,
// and a restart that neither loses nor double-counts.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "app.hpp"
#include "ioc/codec/codec.hpp"
#include "ioc/kafka/admin.hpp"
#include "ioc/kafka/embedded_broker.hpp"
#include "ioc/metrics/endpoints.hpp"

namespace ioc::aggregator {
namespace {

using namespace std::chrono_literals;

/// Processing time driven by the test, while the monotonic reading stays
/// real: the broker, the poll loop's timers and its deadlines run in real
/// time.
class BrokerTestClock final : public Clock {
 public:
  explicit BrokerTestClock(TimePoint start) : wall_(start) {}
  TimePoint now() const override { return wall_.now(); }
  MonotonicTime monotonic() const override { return SystemClock::instance().monotonic(); }
  void advance(Millis d) { wall_.advance(d); }

 private:
  ManualClock wall_;
};

constexpr std::int64_t kBase = 1719822600000;  // 2024-07-01T08:30:00Z, a minute boundary
const std::string kView = "reports_by_district_category";

class AggregatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<kafka::EmbeddedBroker>(
        1, std::vector<kafka::TopicSpec>{{kafka::topics::kReports, 2},
                                         {kafka::topics::kAggregates, 2},
                                         {kafka::topics::kDeadLetter, 1},
                                         {kafka::topics::kAggregatorState, 2}});
    client_ = {broker_->bootstrap_servers(), "test", {}};
    cfg_.common.kafka = client_;
    cfg_.common.service = "ioc-aggregator";
    // Watermarks move only with events in these tests (idle_timeout 0).
    cfg_.views = views::Catalog::parse(R"(
views:
  reports_by_district_category:
    source: reports
    group_by: [district, category]
    window: {tumbling: 1m}
    allowed_lateness: 10s
    out_of_orderness: 0s
    idle_timeout: 0s
    emit: final
    aggregations: [count]
    gauges: {values: [count], max_series: 100}
)",
                             "test-views.yaml").views();
    cfg_.checkpoint_interval = 10ms;
    // A restarted member rejoins after the old one's session expires.
    cfg_.common.kafka.properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "1000"}};
    producer_ = std::make_unique<kafka::Producer>(client_, kafka::Producer::Options{});
  }

  void send(const std::string& district, const std::string& category, std::int64_t t, const std::string& id) {
    Report r;
    r.id = id;
    r.district = district;
    r.category = category;
    r.occurred_at = from_epoch_ms(t);
    ASSERT_TRUE(producer_->produce(kafka::topics::kReports, district, codec::encode(r)).ok());
  }

  void start() {
    exposition_ = std::make_unique<metrics::Exposition>("ioc-aggregator", "test");
    aggregator_ = std::make_unique<Aggregator>(cfg_, registry_, clock_, exposition_->registry());
    stop_ = false;
    loop_ = std::thread([this] { healthy_ = aggregator_->run(stop_); });
  }
  void halt() {
    stop_ = true;
    loop_.join();
    aggregator_.reset();
  }
  void TearDown() override {
    if (loop_.joinable()) halt();
  }

  // Calls `fn` for every record of `topic` up to its current end, read
  // without joining a group. (Messages must not outlive their consumer.)
  void read_all(const std::string& topic, int partitions, const std::function<void(const kafka::Message&)>& fn) {
    kafka::Admin admin(client_);
    std::vector<kafka::TopicPartition> from;
    std::map<std::int32_t, std::int64_t> end;
    for (int p = 0; p < partitions; ++p) {
      auto w = admin.watermarks(topic, p, 5s);
      EXPECT_TRUE(w.ok());
      end[p] = w.ok() ? w->log_end : 0;
      from.push_back({topic, p, 0});
    }
    kafka::Consumer c(client_, {.group_id = "unused"});
    c.assign(from);
    std::map<std::int32_t, std::int64_t> next;
    auto done = [&] {
      for (auto& [p, e] : end) {
        if (next[p] < e) return false;
      }
      return true;
    };
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      for (auto& m : c.poll(100, 100ms)) {
        next[m.partition()] = m.offset() + 1;
        fn(m);
      }
    }
    EXPECT_TRUE(done());
  }

  // Dead-letter reasons on the topic once there are at least `want`.
  std::vector<std::string> dead_letters(std::size_t want) {
    std::vector<std::string> reasons;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (reasons.size() < want && std::chrono::steady_clock::now() < deadline) {
      reasons.clear();
      read_all(kafka::topics::kDeadLetter, 1,
               [&](const kafka::Message& m) { reasons.emplace_back(m.header("ioc.error").value_or("")); });
    }
    return reasons;
  }

  bool metrics_show(const std::string& sample) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (exposition_->serialize().find(sample) != std::string::npos) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  std::int64_t final_count(const std::string& group, std::int64_t start_ms, std::size_t want_final) {
    const auto results = read_results(want_final);
    auto it = results.find(kView + "|" + group + "|" + std::to_string(start_ms));
    return it == results.end() || !it->second.final ? -1 : it->second.count;
  }

  // Waits until `want_final` final results are on the topic; returns the
  // latest revision of each result key.
  std::map<std::string, WindowResult> read_results(std::size_t want_final) {
    std::map<std::string, WindowResult> latest;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      latest.clear();
      std::size_t finals = 0;
      read_all(kafka::topics::kAggregates, 2, [&](const kafka::Message& m) {
        WindowResult r;
        EXPECT_TRUE(codec::decode(m.value(), r).ok());
        EXPECT_EQ(m.key(), window_result_key(r));
        auto& slot = latest[std::string(m.key())];
        if (r.revision >= slot.revision) slot = r;
        finals += r.final;
      });
      if (finals >= want_final) break;
      std::this_thread::sleep_for(50ms);
    }
    return latest;
  }

  Registry registry_{{{"380", "a", "a"}, {"381", "b", "b"}}, {{"flood", "x", "", ""}, {"fire", "y", "", ""}}};
  BrokerTestClock clock_{from_epoch_ms(kBase + 3'600'000)};
  std::unique_ptr<kafka::EmbeddedBroker> broker_;
  kafka::ClientConfig client_;
  Config cfg_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<metrics::Exposition> exposition_;
  std::unique_ptr<Aggregator> aggregator_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> healthy_{true};
  std::thread loop_;
};

TEST_F(AggregatorTest, CountsPerDistrictAndCategoryExactly) {
  start();
  // Window [0,1m): 380/flood ×3 (one out of order), 381/fire ×1.
  send("380", "flood", kBase + 5'000, "a1");
  send("380", "flood", kBase + 59'999, "a2");
  send("381", "fire", kBase + 30'000, "b1");
  send("380", "flood", kBase + 65'000, "a3");   // window [1m,2m); watermark 65s < end 60s + lateness 10s
  send("380", "flood", kBase + 1'000, "a4");    // out of order, within lateness
  // Push both partitions' watermarks past 2m + lateness.
  send("380", "fire", kBase + 200'000, "w1");
  send("381", "fire", kBase + 200'000, "w2");
  send("999", "flood", kBase + 1'000, "bad");   // unknown district: dead letter
  ASSERT_TRUE(producer_->flush(5s).ok());
  const auto results = read_results(3);
  std::map<std::string, std::int64_t> counts;
  for (auto& [k, r] : results) {
    if (r.final) counts[k] = r.count;
  }
  const std::string v = kView + "|";
  EXPECT_EQ(counts[v + "380/flood|" + std::to_string(kBase)], 3);
  EXPECT_EQ(counts[v + "381/fire|" + std::to_string(kBase)], 1);
  EXPECT_EQ(counts[v + "380/flood|" + std::to_string(kBase + 60'000)], 1);
  EXPECT_EQ(results.at(v + "380/flood|" + std::to_string(kBase)).sample_ids.size(), 3u);
  // A record later than the lateness of its (closed) window goes to the dead letters.
  send("380", "flood", kBase + 2'000, "too-late");
  ASSERT_TRUE(producer_->flush(5s).ok());
  std::vector<std::string> reasons;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (reasons.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    reasons.clear();
    read_all(kafka::topics::kDeadLetter, 1,
             [&](const kafka::Message& m) { reasons.emplace_back(m.header("ioc.error").value_or("")); });
  }
  ASSERT_EQ(reasons.size(), 2u);
  std::sort(reasons.begin(), reasons.end());
  EXPECT_EQ(reasons[0].rfind("late for reports_by_district_category (2024-07-01T08:30:02.000Z is beyond the allowed "
                             "lateness of its window; watermark 2024-07-01T08:33:20.000Z)",
                             0),
            0u)
      << reasons[0];
  EXPECT_EQ(reasons[1], "unknown district code '999'");
  const std::string gauge = R"(ioc_view_value{category="flood",district="380",value="count",view="reports_by_district_category"} 1)";
  const std::string text = exposition_->serialize();
  EXPECT_NE(text.find(R"(ioc_aggregator_events_total{outcome="late"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(ioc_aggregator_events_total{outcome="invalid"} 1)"), std::string::npos);
  EXPECT_NE(text.find(gauge), std::string::npos);
  halt();
  // Leaving the group revokes the partitions: their groups' gauges go with them.
  EXPECT_EQ(exposition_->serialize().find(gauge), std::string::npos);
}

TEST_F(AggregatorTest, RestartNeitherLosesNorDoubleCounts) {
  start();
  send("380", "flood", kBase + 1'000, "a1");
  send("380", "flood", kBase + 2'000, "a2");
  send("380", "flood", kBase + 75'000, "a3");  // closes nothing yet (lateness 10s)
  send("380", "flood", kBase + 80'000, "a4");  // watermark 80s: closes [0,1m)
  ASSERT_TRUE(producer_->flush(5s).ok());
  auto before = read_results(1);
  const std::string first = kView + "|380/flood|" + std::to_string(kBase);
  ASSERT_TRUE(before.count(first));
  EXPECT_EQ(before[first].count, 2);
  halt();  // [1m,2m) is open with 2 records: they must be recomputed, [0,1m) not re-counted
  start();
  send("380", "flood", kBase + 90'000, "a5");
  send("380", "flood", kBase + 300'000, "w");  // close everything
  send("381", "flood", kBase + 300'000, "w2");
  ASSERT_TRUE(producer_->flush(5s).ok());
  auto after = read_results(2);
  const std::string second = kView + "|380/flood|" + std::to_string(kBase + 60'000);
  EXPECT_EQ(after[first].count, 2);
  EXPECT_EQ(after[second].count, 3);
  std::size_t finals_for_first = 0;
  read_all(kafka::topics::kAggregates, 2, [&](const kafka::Message& m) { finals_for_first += m.key() == first; });
  EXPECT_EQ(finals_for_first, 1u);  // published once, not again after the restart
}

// Regression: one record from year 9999 moved its partition's watermark
// there, and every valid report after it was dead-lettered as late.
TEST_F(AggregatorTest, FarFutureRecordIsDeadLetteredAndDoesNotPoisonThePartition) {
  start();
  send("380", "flood", 253402300799000, "poison");  // 9999-12-31T23:59:59Z
  send("380", "flood", kBase + 1'000, "a1");
  send("380", "flood", kBase + 200'000, "w1");
  send("381", "fire", kBase + 200'000, "w2");
  ASSERT_TRUE(producer_->flush(5s).ok());
  EXPECT_EQ(final_count("380/flood", kBase, 1), 1);
  auto reasons = dead_letters(1);
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_EQ(reasons[0].rfind("beyond time bound: occurred_at 9999-12-31T23:59:59.000Z is more than 300s", 0), 0u)
      << reasons[0];
  EXPECT_TRUE(metrics_show(R"(ioc_aggregator_events_total{outcome="beyond_time_bound"} 1)"));
  EXPECT_TRUE(metrics_show(R"(ioc_aggregator_events_total{outcome="late"} 0)"));
  halt();
  // After a restart, new valid records still count.
  start();
  send("380", "flood", kBase + 205'000, "a2");
  send("380", "flood", kBase + 400'000, "w3");
  send("381", "fire", kBase + 400'000, "w4");
  ASSERT_TRUE(producer_->flush(5s).ok());
  EXPECT_EQ(final_count("380/flood", kBase + 180'000, 3), 2);  // w1 and a2
  EXPECT_EQ(dead_letters(1).size(), 1u);
}

// Regression: after a restart, records later than the restored watermark
// were taken for records read a second time and dropped without a dead
// letter.
TEST_F(AggregatorTest, LateRecordsAfterARestartAreDeadLettered) {
  start();
  send("380", "flood", kBase + 1'000, "a1");
  send("380", "flood", kBase + 200'000, "w1");
  send("381", "fire", kBase + 200'000, "w2");
  ASSERT_TRUE(producer_->flush(5s).ok());
  ASSERT_EQ(final_count("380/flood", kBase, 1), 1);
  halt();
  start();
  for (int i = 0; i < 3; ++i) send("380", "flood", kBase + 2'000 + i, "late" + std::to_string(i));
  ASSERT_TRUE(producer_->flush(5s).ok());
  const auto reasons = dead_letters(3);
  ASSERT_EQ(reasons.size(), 3u);
  for (const auto& r : reasons) {
    EXPECT_EQ(r.rfind("late for reports_by_district_category (2024-07-01T08:30:02", 0), 0u) << r;
  }
  EXPECT_TRUE(metrics_show(R"(ioc_aggregator_events_total{outcome="late"} 3)"));
  // The published window keeps its value.
  EXPECT_EQ(final_count("380/flood", kBase, 1), 1);
}

// Regression: a restored partition took the time no replica read it (a
// crash, a rebalance) for silence, as its checkpoint kept the writer's
// processing time: at its first advance the quiet-partition rule closed
// every open window, and the records after it were dead-lettered as late.
TEST_F(AggregatorTest, TimeWithoutAnOwnerIsNotSilence) {
  cfg_.views = views::Catalog::parse(R"(
views:
  reports_by_district_category:
    source: reports
    group_by: [district, category]
    window: {tumbling: 1m}
    allowed_lateness: 10s
    out_of_orderness: 0s
    idle_timeout: 10s
    emit: final
    aggregations: [count]
)",
                           "test-views.yaml").views();
  start();
  send("380", "flood", kBase + 1'000, "a1");
  ASSERT_TRUE(producer_->flush(5s).ok());
  ASSERT_TRUE(metrics_show(R"(ioc_aggregator_events_total{outcome="accepted"} 1)"));
  halt();  // checkpoints the open window
  clock_.advance(60s);  // a minute without an owner, while records arrive
  send("380", "flood", kBase + 2'000, "a2");
  ASSERT_TRUE(producer_->flush(5s).ok());
  start();
  ASSERT_TRUE(metrics_show(R"(ioc_aggregator_events_total{outcome="accepted"} 1)"));  // caught up
  send("380", "flood", kBase + 3'000, "a3");
  send("380", "flood", kBase + 200'000, "w1");  // closes [0,1m)
  send("381", "fire", kBase + 200'000, "w2");
  ASSERT_TRUE(producer_->flush(5s).ok());
  EXPECT_EQ(final_count("380/flood", kBase, 1), 3);
  std::size_t dead = 0;
  read_all(kafka::topics::kDeadLetter, 1, [&](const kafka::Message&) { ++dead; });
  EXPECT_EQ(dead, 0u);
}

// Regression: after a kill -9, the successor's final of a window could carry
// the revision of an early result the killed replica had published after its
// last checkpoint (or a lower one): revisions restart from the checkpoint, and
// "a higher revision replaces a lower one" kept the partial early value. A
// final now outranks every early result of its window.
TEST_F(AggregatorTest, FinalOutranksEveryEarlyResultOfItsWindow) {
  cfg_.views = views::Catalog::parse(R"(
views:
  reports_by_district_category:
    source: reports
    group_by: [district, category]
    window: {tumbling: 1m}
    allowed_lateness: 10s
    out_of_orderness: 0s
    idle_timeout: 0s
    emit: {mode: both, interval: 1s}
    aggregations: [count]
)",
                           "test-views.yaml").views();
  start();
  const std::string key = kView + "|380/flood|" + std::to_string(kBase);
  auto revisions = [&] {
    std::vector<std::pair<std::uint64_t, bool>> out;
    read_all(kafka::topics::kAggregates, 2, [&](const kafka::Message& m) {
      WindowResult r;
      EXPECT_TRUE(codec::decode(m.value(), r).ok());
      if (m.key() == key) out.emplace_back(r.revision, r.final);
    });
    return out;
  };
  send("380", "flood", kBase + 1'000, "a1");
  ASSERT_TRUE(producer_->flush(5s).ok());
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (revisions().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
  send("380", "flood", kBase + 200'000, "w1");  // closes [0,1m)
  send("381", "fire", kBase + 200'000, "w2");
  ASSERT_TRUE(producer_->flush(5s).ok());
  ASSERT_EQ(final_count("380/flood", kBase, 1), 1);
  const auto seen = revisions();
  ASSERT_EQ(seen.size(), 2u);
  constexpr std::uint64_t kEpoch1 = std::uint64_t{1} << 32;  // the first replica of the partition
  EXPECT_EQ(seen[0], (std::pair<std::uint64_t, bool>{kEpoch1 + 1, false}));
  EXPECT_EQ(seen[1], (std::pair<std::uint64_t, bool>{kEpoch1 + (1U << 31) + 2, true}));
}

// Regression: readiness was set by the first assignment and never cleared.
TEST_F(AggregatorTest, ReadyOnlyWhileAssignedAndReachingTheBroker) {
  cfg_.stats_interval = 100ms;
  start();
  EXPECT_FALSE(aggregator_->readiness().ready);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!aggregator_->readiness().ready && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(aggregator_->readiness().ready) << aggregator_->readiness().reason;
  EXPECT_TRUE(metrics_show("ioc_aggregator_broker_reachable 1"));
  producer_.reset();
  broker_.reset();
  while (aggregator_->readiness().ready && std::chrono::steady_clock::now() < deadline + 30s) {
    std::this_thread::sleep_for(20ms);
  }
  const auto r = aggregator_->readiness();
  EXPECT_FALSE(r.ready);
  // Whichever comes first: the lost connection, or the group session expiring.
  EXPECT_TRUE(r.reason.starts_with("no broker connection") || r.reason.starts_with("no partitions")) << r.reason;
  EXPECT_TRUE(metrics_show("ioc_aggregator_broker_reachable 0"));
  // Regression: consumer error events were logged and dropped.
  EXPECT_TRUE(metrics_show("ioc_aggregator_consumer_errors_total{error=\""));
}

// Regression: checkpoints were keyed by input partition only, so a second
// consumer group with other views restored the first group's state (and
// failed: "snapshot has 1 views, this engine has 2").
TEST_F(AggregatorTest, GroupsWithOtherViewsDoNotShareCheckpoints) {
  start();
  send("380", "flood", kBase + 1'000, "a1");
  send("380", "flood", kBase + 200'000, "w1");
  ASSERT_TRUE(producer_->flush(5s).ok());
  ASSERT_EQ(final_count("380/flood", kBase, 1), 1);
  halt();
  cfg_.group_id = "another-group";
  auto second = cfg_.views.front();
  second.spec.name = "reports_again";
  cfg_.views.push_back(second);
  start();
  EXPECT_TRUE(metrics_show(R"(ioc_aggregator_restores_total{outcome="fresh"} 2)"));
  EXPECT_TRUE(metrics_show(R"(ioc_aggregator_view_events_total{outcome="accepted",view="reports_again"} 2)"));
  EXPECT_EQ(exposition_->serialize().find(R"(ioc_aggregator_restores_total{outcome="lost"})"), std::string::npos);
}

// An output the broker refuses is recomputed from the last checkpoint and
// published again, under a higher epoch, without the replica stopping.
// (It used to stop, exit 1 and wait for someone to restart it.)
TEST_F(AggregatorTest, LostOutputsAreRecomputedWithoutStopping) {
  cfg_.views.front().spec.idle_timeout = 10s;  // the window closes by the quiet-partition rule, without input
  start();
  send("380", "flood", kBase + 1'000, "a1");
  ASSERT_TRUE(producer_->flush(5s).ok());
  ASSERT_TRUE(metrics_show(R"(ioc_aggregator_events_total{outcome="accepted"} 1)"));
  ASSERT_TRUE(metrics_show(R"(ioc_aggregator_checkpoints_total{outcome="ok"})"));  // a1's epoch sealed
  broker_->refuse_produce_requests(3);
  clock_.advance(20s);  // [0,1m) closes: its result is refused
  const std::string key = kView + "|380/flood|" + std::to_string(kBase);
  std::vector<std::pair<std::uint64_t, std::int64_t>> finals;  // revision, count
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (finals.empty() && std::chrono::steady_clock::now() < deadline) {
    clock_.advance(20s);  // a restored partition's quiet time starts anew: close the window again
    std::this_thread::sleep_for(200ms);
    read_all(kafka::topics::kAggregates, 2, [&](const kafka::Message& m) {
      WindowResult r;
      if (m.key() == key && codec::decode(m.value(), r).ok() && r.final) finals.emplace_back(r.revision, r.count);
    });
  }
  ASSERT_FALSE(finals.empty());
  EXPECT_EQ(finals.back().second, 1);
  EXPECT_GE(finals.back().first >> 32, 2u) << "recomputed under a new epoch";
  EXPECT_EQ(exposition_->serialize().find("ioc_aggregator_rewinds_total 0"), std::string::npos);
  EXPECT_TRUE(loop_.joinable());
  EXPECT_TRUE(healthy_.load());
}

// Checkpoints that cannot be read when partitions are assigned (their
// leader is moving) are read again; the partitions are counted once they
// are. (They used to get no state and no unit: their records were skipped.)
TEST_F(AggregatorTest, CheckpointsUnreadableAtAssignmentAreReadAgain) {
  broker_->refuse_offset_requests(2);
  start();
  ASSERT_TRUE(metrics_show(R"(ioc_aggregator_restores_total{outcome="failed"})"));
  send("380", "flood", kBase + 1'000, "a1");
  send("381", "fire", kBase + 2'000, "a2");
  send("380", "flood", kBase + 200'000, "w1");
  send("381", "fire", kBase + 200'000, "w2");
  ASSERT_TRUE(producer_->flush(5s).ok());
  EXPECT_EQ(final_count("380/flood", kBase, 2), 1);
  EXPECT_EQ(final_count("381/fire", kBase, 2), 1);
  EXPECT_TRUE(healthy_.load());
}

}  // namespace
}  // namespace ioc::aggregator
