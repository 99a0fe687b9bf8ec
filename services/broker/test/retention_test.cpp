#include "retention.hpp"

#include <gtest/gtest.h>

#include "ioc/metrics/endpoints.hpp"

namespace ioc::broker {
namespace {

TEST(RetentionTest, FindsGroupsBelowLogStart) {
  std::vector<PartitionOffsets> parts = {
      {"ioc.reports.v1", 0, 100, 500, {{"ioc-aggregator", 120}, {"slow", 40}}},
      {"ioc.reports.v1", 1, 0, 10, {{"ioc-aggregator", 10}}},
      {"ioc.telemetry.v1", 3, 25000, 30000, {{"slow", 24999}}},
  };
  const auto losses = find_losses(parts);
  ASSERT_EQ(losses.size(), 2u);
  EXPECT_EQ(losses[0].group, "slow");
  EXPECT_EQ(losses[0].records(), 60);
  EXPECT_EQ(losses[1].topic, "ioc.telemetry.v1");
  EXPECT_EQ(losses[1].records(), 1);
}

TEST(RetentionTest, WatchReportsEachLossOnceAndExportsOffsets) {
  metrics::Exposition exp("ioc-broker", "test");
  RetentionWatch watch(exp.registry());
  std::vector<PartitionOffsets> parts = {{"t", 0, 100, 500, {{"g", 40}}}};
  EXPECT_EQ(watch.observe(parts).size(), 1u);
  EXPECT_EQ(watch.observe(parts).size(), 0u);  // same state: already reported
  parts[0].log_start = 200;
  parts[0].committed["g"] = 150;  // still behind, at a new offset: a new loss
  EXPECT_EQ(watch.observe(parts).size(), 1u);
  const std::string text = exp.serialize();
  EXPECT_NE(text.find(R"(ioc_broker_log_start_offset{partition="0",topic="t"} 200)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(ioc_broker_log_end_offset{partition="0",topic="t"} 500)"), std::string::npos);
  EXPECT_NE(text.find(R"(ioc_broker_group_committed_offset{group="g",partition="0",topic="t"} 150)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(ioc_broker_group_records_pruned_unread{group="g",partition="0",topic="t"} 50)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(ioc_broker_group_offset_below_log_start_total{group="g",partition="0",topic="t"} 2)"),
            std::string::npos);
}

}  // namespace
}  // namespace ioc::broker
