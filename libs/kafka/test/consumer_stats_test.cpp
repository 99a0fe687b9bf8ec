// librdkafka statistics JSON -> ConsumerStats, without a broker.
#include <gtest/gtest.h>

#include "ioc/kafka/consumer.hpp"

namespace ioc::kafka {
namespace {

TEST(ConsumerStatsTest, ParsesBrokersAndAssignedPartitions) {
  const auto s = parse_consumer_stats(R"({"brokers": {
      "127.0.0.1:9092/bootstrap": {"nodeid": -1, "state": "UP"},
      "127.0.0.1:9092/1": {"nodeid": 1, "state": "UP"},
      "127.0.0.1:9093/2": {"nodeid": 2, "state": "CONNECT"},
      "GroupCoordinator": {"nodeid": 1, "state": "UP"}},
    "topics": {"t": {"partitions": {
      "0": {"partition": 0, "desired": true, "next_offset": 12, "hi_offset": 15},
      "1": {"partition": 1, "desired": false, "next_offset": 3, "hi_offset": 3},
      "-1": {"partition": -1, "desired": false}}}}})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->brokers_known, 2);
  EXPECT_EQ(s->brokers_up, 1);
  ASSERT_EQ(s->partitions.size(), 1u);
  EXPECT_EQ(s->partitions[0].partition, 0);
  EXPECT_EQ(s->partitions[0].fetch_offset, 12);
  EXPECT_EQ(s->partitions[0].high_watermark, 15);
  EXPECT_FALSE(parse_consumer_stats("[1,2]").ok());
  EXPECT_FALSE(parse_consumer_stats("{").ok());
}

}  // namespace
}  // namespace ioc::kafka
