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

TEST(OffsetTrackerTest, StartPositionIsCommittableBeforeAnyRecord) {
  // Regression: a partition that had no records was never committed, so the
  // broker could not tell that the group fell behind its retention.
  OffsetTracker t;
  t.start(3, 40);
  EXPECT_EQ(t.committable(3), 40);
  t.start(3, 7);  // a later start does not move a known position
  EXPECT_EQ(t.committable(3), 40);
}

TEST(OffsetTrackerTest, ReportsSkippedOffsetsAndALogThatWentBack) {
  OffsetTracker t;
  EXPECT_EQ(t.check(0, 5).skipped, 0);  // position unknown: nothing to say
  t.start(0, 10);
  EXPECT_EQ(t.check(0, 10).skipped, 0);
  t.on_record(0, 10, 60'000);
  const auto gap = t.check(0, 25);  // 11..24 pruned before they were read
  EXPECT_EQ(gap.skipped, 14);
  EXPECT_FALSE(gap.went_back);
  t.on_record(0, 25, std::nullopt);
  const auto back = t.check(0, 2);
  EXPECT_TRUE(back.went_back);
  EXPECT_EQ(t.committable(0), std::nullopt);  // reset: the old offsets mean nothing now
  t.on_record(0, 2, std::nullopt);
  EXPECT_EQ(t.committable(0), 3);
}

TEST(OffsetTrackerTest, MetadataRoundTrip) {
  const CommitMark mark{1719822600000, 42};
  EXPECT_EQ(encode_commit_metadata(mark), "wm=1719822600000;read=42");
  EXPECT_EQ(decode_commit_metadata(encode_commit_metadata(mark)), mark);
  EXPECT_EQ(decode_commit_metadata(encode_commit_metadata({-5, std::nullopt})), (CommitMark{-5, std::nullopt}));
  EXPECT_EQ(decode_commit_metadata(encode_commit_metadata({std::nullopt, 3})), (CommitMark{std::nullopt, 3}));
  EXPECT_EQ(decode_commit_metadata("wm=17"), (CommitMark{17, std::nullopt}));  // older marks
  EXPECT_EQ(decode_commit_metadata(""), CommitMark{});
  EXPECT_EQ(decode_commit_metadata("wm=12x;read=-1"), CommitMark{});
  EXPECT_EQ(decode_commit_metadata("something else"), CommitMark{});
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
