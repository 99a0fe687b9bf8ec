// ConsumerHealth: gauges, readiness and cluster changes from fake statistics
// and a driven clock (no broker).
#include "ioc/kafka/consumer_health.hpp"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace ioc::kafka {
namespace {

using namespace std::chrono_literals;

class ConsumerHealthTest : public ::testing::Test {
 protected:
  /// The lag gauge of a partition, or -1 when it is not exported.
  double lag(const std::string& topic, int partition) const {
    for (const auto& family : registry_.Collect()) {
      if (family.name != "test_lag") continue;
      for (const auto& m : family.metric) {
        if (m.label.size() == 2 && m.label[0].value == std::to_string(partition) && m.label[1].value == topic) {
          return m.gauge.value;
        }
      }
    }
    return -1;
  }

  prometheus::Registry registry_;
  prometheus::Family<prometheus::Gauge>& lag_ = prometheus::BuildGauge().Name("test_lag").Register(registry_);
  prometheus::Gauge& reachable_ = prometheus::BuildGauge().Name("test_reachable").Register(registry_).Add({});
  prometheus::Family<prometheus::Counter>& errors_ = prometheus::BuildCounter().Name("test_errors").Register(registry_);
  std::string cluster_id_ = "A";
  ClusterWatch cluster_{[this]() -> Result<std::string> { return cluster_id_; }};
  ConsumerHealth health_{"results", 30s, "nothing assigned", {lag_, reachable_, errors_}, &cluster_};
  MonotonicTime t0_ = MonotonicTime{} + 1000h;
};

TEST_F(ConsumerHealthTest, NotReadyUntilAssignedThenTheProgressVerdict) {
  EXPECT_EQ(health_.not_ready(), "nothing assigned");
  health_.set_assigned(2);
  EXPECT_EQ(health_.not_ready(), "");
  health_.on_stats({0, 3, {{"t", 0, 5, 9}}});
  ASSERT_TRUE(health_.has_stats());
  (void)health_.apply({{"t", 0, 5}}, t0_);
  EXPECT_FALSE(health_.has_stats());
  EXPECT_EQ(health_.not_ready(), "no broker connection (3 brokers known)");
  EXPECT_EQ(reachable_.Value(), 0);
  health_.set_not_ready("a reason of the service");
  EXPECT_EQ(health_.not_ready(), "a reason of the service");
  health_.set_assigned(0);
  EXPECT_EQ(health_.not_ready(), "nothing assigned");
}

TEST_F(ConsumerHealthTest, ExportsLagOfKnownPartitionsAndRemovesTheOthers) {
  health_.on_stats({1, 1, {{"t", 0, 5, 9}, {"t", 1, 2, 2}}});
  (void)health_.apply({{"t", 0, 6}, {"t", 1, -1}}, t0_);
  EXPECT_EQ(lag("t", 0), 3);
  EXPECT_EQ(lag("t", 1), 0);
  EXPECT_EQ(reachable_.Value(), 1);
  health_.on_stats({1, 1, {{"t", 0, 9, 9}}});
  (void)health_.apply({{"t", 0, 9}}, t0_ + 1s);
  EXPECT_EQ(lag("t", 0), 0);
  EXPECT_EQ(lag("t", 1), -1);  // no longer known: removed
  health_.forget("t", 0);
  EXPECT_EQ(lag("t", 0), -1);
}

TEST_F(ConsumerHealthTest, WithoutASnapshotApplyChangesNothing) {
  EXPECT_FALSE(health_.apply({{"t", 0, 6}}, t0_));
  EXPECT_EQ(lag("t", 0), -1);
  EXPECT_EQ(cluster_.id(), "");  // not asked
}

TEST_F(ConsumerHealthTest, ReportsTheClusterChangeTheWatchSees) {
  health_.on_stats({1, 1, {}});
  EXPECT_FALSE(health_.apply({}, t0_));  // learnt
  cluster_id_ = "B";
  health_.on_stats({1, 1, {}});
  EXPECT_FALSE(health_.apply({}, t0_ + 1s));  // not asked again yet
  health_.on_stats({1, 1, {}});
  auto change = health_.apply({}, t0_ + ClusterWatch::kDefaultInterval);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->old_id, "A");
  EXPECT_EQ(change->new_id, "B");
}

TEST_F(ConsumerHealthTest, CountsErrorsByName) {
  health_.on_error({.code = "TRANSPORT"});
  health_.on_error({.code = "TRANSPORT"});
  EXPECT_EQ(errors_.Add({{"error", "TRANSPORT"}}).Value(), 2);
}

}  // namespace
}  // namespace ioc::kafka
