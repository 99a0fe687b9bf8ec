#include "offset_tracker.hpp"
#include "sample_ids.hpp"

#include <gtest/gtest.h>

namespace ioc::aggregator {
namespace {

TEST(OffsetTrackerTest, CommitsOnlyPastClosedWindows) {
  OffsetTracker t;
  EXPECT_EQ(t.committable(0), std::nullopt);
  t.on_record(0, 10, 60'000);      // window ending at 1m
  t.on_record(0, 11, 120'000);     // window ending at 2m
  t.on_record(0, 12, std::nullopt);  // dead-lettered: needs nothing
  t.on_record(0, 13, 60'000);      // out of order, same first window
  EXPECT_EQ(t.committable(0), 10);
  t.on_windows_closed(0, 60'000);
  EXPECT_EQ(t.committable(0), 11);
  t.on_record(1, 5, 180'000);
  t.on_windows_closed(1, 120'000);  // another partition's watermark leaves partition 0 alone
  EXPECT_EQ(t.committable(0), 11);
  t.on_windows_closed(0, 120'000);
  EXPECT_EQ(t.committable(0), 14);
  EXPECT_EQ(t.committable(1), 5);
  t.forget(1);
  EXPECT_EQ(t.committable(1), std::nullopt);
}

TEST(OffsetTrackerTest, MetadataRoundTrip) {
  EXPECT_EQ(decode_commit_metadata(encode_commit_metadata(1719822600000)), 1719822600000);
  EXPECT_EQ(decode_commit_metadata(encode_commit_metadata(-5)), -5);
  EXPECT_EQ(decode_commit_metadata(""), std::nullopt);
  EXPECT_EQ(decode_commit_metadata("wm=12x"), std::nullopt);
  EXPECT_EQ(decode_commit_metadata("something else"), std::nullopt);
}

TEST(SampleIdsTest, RefsAreNonZeroAndPurgedByEventTime) {
  EXPECT_NE(record_ref(0, 0), 0u);
  EXPECT_NE(record_ref(0, 0), record_ref(1, 0));
  SampleIds ids;
  ids.add(record_ref(0, 0), 1000, "a");
  ids.add(record_ref(0, 1), 5000, "b");
  EXPECT_EQ(ids.find(record_ref(0, 0)), "a");
  ids.purge_before(2000);
  EXPECT_EQ(ids.find(record_ref(0, 0)), "");
  EXPECT_EQ(ids.find(record_ref(0, 1)), "b");
  EXPECT_EQ(ids.size(), 1u);
}

}  // namespace
}  // namespace ioc::aggregator
