#include "checkpoint.hpp"

#include <gtest/gtest.h>

#include "sample_ids.hpp"

namespace ioc::aggregator {
namespace {

Checkpoint sample() {
  Checkpoint c;
  c.topic = "ioc.reports.v1";
  c.partition = 3;
  c.next_offset = 1234;
  c.engine = {1, 2, 3, 0, 255};
  c.keys = {{"reports_1m", 42, {"380", "flood"}}, {"reports_15m", 7, {"381", "fire"}}};
  c.samples = {{record_ref(3, 1200), 1000, "r-1"}};
  c.created_ms = 99;
  c.views = {"reports_1m", "reports_15m"};
  c.last_record_ms = 1719822600000;
  c.last_record_id = record_identity("380", 120, 1719822600000);
  return c;
}

TEST(CheckpointTest, RoundTrip) {
  const Checkpoint c = sample();
  auto back = decode_checkpoint(encode_checkpoint(c));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, c);
  EXPECT_FALSE(decode_checkpoint("\xff\xff\xff garbage").ok());
}

TEST(CheckpointTest, AssemblerKeepsTheLatestCompleteCheckpointPerUnit) {
  CheckpointAssembler a;
  EXPECT_TRUE(a.add("t/0", "1.1:0:2", "ab"));
  EXPECT_TRUE(a.add("t/1", "1.2:0:1", "xyz"));  // other units interleave
  EXPECT_TRUE(a.add("t/0", "1.1:1:2", "cd"));
  EXPECT_TRUE(a.add("t/0", "2.3:0:2", "ef"));  // a newer one, cut short by a crash
  EXPECT_FALSE(a.add("t/0", "bad", "??"));
  auto done = a.take();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done["t/0"], "abcd");
  EXPECT_EQ(done["t/1"], "xyz");

  // A chunk out of order voids its checkpoint; the next complete one wins.
  EXPECT_TRUE(a.add("t/0", "3.4:0:3", "a"));
  EXPECT_TRUE(a.add("t/0", "3.4:2:3", "c"));
  EXPECT_TRUE(a.add("t/0", "3.4:1:3", "b"));
  EXPECT_TRUE(a.take().empty());
  EXPECT_TRUE(a.add("t/0", "4.5:0:1", "new"));
  EXPECT_EQ(a.take()["t/0"], "new");
}

TEST(SampleIdsTest, RefsAreNonZeroAndPurgedOnceClosed) {
  EXPECT_NE(record_ref(0, 0), 0u);
  EXPECT_NE(record_ref(0, 0), record_ref(1, 0));
  SampleIds ids;
  ids.add(record_ref(0, 0), 1000, "a", SampleIds::view_bit(0));
  ids.add(record_ref(0, 1), 5000, "b");
  EXPECT_EQ(ids.find(record_ref(0, 0)), "a");
  ids.add(record_ref(0, 2), 500, "c", SampleIds::view_bit(1));
  const std::int64_t early[] = {999, 999};
  ids.purge_closed(early);
  EXPECT_EQ(ids.find(record_ref(0, 0)), "a");  // its window can still emit at 999
  const std::int64_t one_view_behind[] = {1000, 400};
  ids.purge_closed(one_view_behind);
  EXPECT_EQ(ids.find(record_ref(0, 0)), "");
  EXPECT_EQ(ids.find(record_ref(0, 2)), "c");  // view 1 is not there yet
  const std::int64_t later[] = {1000, 500};
  ids.purge_closed(later);
  EXPECT_EQ(ids.find(record_ref(0, 2)), "c");  // behind "b", which closes later
  EXPECT_EQ(ids.find(record_ref(0, 1)), "b");
  EXPECT_EQ(ids.size(), 2u);
  int seen = 0;
  ids.for_each([&](std::uint64_t ref, std::int64_t t, const std::string& id) {
    if (seen == 0) {
      EXPECT_EQ(ref, record_ref(0, 1));
      EXPECT_EQ(t, 5000);
      EXPECT_EQ(id, "b");
    }
    ++seen;
  });
  EXPECT_EQ(seen, 2);
  const std::int64_t done[] = {5000, 5000};
  ids.purge_closed(done);
  EXPECT_EQ(ids.size(), 0u);
}

}  // namespace
}  // namespace ioc::aggregator
