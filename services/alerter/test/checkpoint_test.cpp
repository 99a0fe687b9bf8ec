#include "checkpoint.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include <filesystem>
#include <fstream>

#include "events.hpp"

namespace ioc::alerter {
namespace {

using test::at;
using test::event;
using S = AlertEvent::State;

Checkpoint sample() {
  Checkpoint c;
  c.cluster_id = "mockCluster1562";
  c.topic = "ioc.aggregates.v1";
  c.offsets = {{0, 17}, {3, 4096}};
  c.rules = std::string("rules\0bytes", 11);
  c.events = {event("a", S::kFiring, 10, 1), event("b", S::kResolved, 20, 3)};
  c.written_at = at(30);
  return c;
}

TEST(CheckpointTest, RoundTrips) {
  const Checkpoint c = sample();
  auto back = decode_checkpoint(encode_checkpoint(c));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->cluster_id, c.cluster_id);
  EXPECT_EQ(back->topic, c.topic);
  EXPECT_EQ(back->offsets, c.offsets);
  EXPECT_EQ(back->rules, c.rules);
  EXPECT_EQ(back->events, c.events);
  EXPECT_EQ(back->written_at, c.written_at);
}

TEST(CheckpointTest, DamageIsDetected) {
  std::string bytes = encode_checkpoint(sample());
  for (std::size_t i : {std::size_t{0}, bytes.size() / 2, bytes.size() - 1}) {
    std::string b = bytes;
    b[i] ^= 0x01;
    EXPECT_EQ(decode_checkpoint(b).error().code, ErrorCode::kDataLoss) << i;
  }
  EXPECT_EQ(decode_checkpoint(bytes.substr(0, 20)).error().code, ErrorCode::kDataLoss);
}

TEST(CheckpointTest, SavesAtomicallyAndLoads) {
  const std::string dir = ::testing::TempDir() + "/alerter-checkpoint-test";
  std::filesystem::remove_all(dir);
  auto none = load_checkpoint(dir);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  ASSERT_TRUE(save_checkpoint(dir, sample()).ok());
  Checkpoint second = sample();
  second.offsets[0] = 99;
  ASSERT_TRUE(save_checkpoint(dir, second).ok());
  EXPECT_FALSE(std::filesystem::exists(dir + "/alerter.checkpoint.tmp"));
  auto loaded = load_checkpoint(dir);
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(*loaded);
  EXPECT_EQ((*loaded)->offsets.at(0), 99);
  // A damaged file is an error naming it, not an empty start.
  std::ofstream(dir + "/alerter.checkpoint", std::ios::binary | std::ios::trunc) << "garbage";
  auto bad = load_checkpoint(dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("alerter.checkpoint"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ioc::alerter

namespace ioc::alerter {
namespace {

TEST(CheckpointWriterTest, WritesTheLatestAndFlushWaitsForIt) {
  const std::string dir = ::testing::TempDir() + "/alerter-writer-test";
  std::filesystem::remove_all(dir);
  std::atomic<int> ok{0};
  {
    CheckpointWriter w(dir, [&](const Status& s) { ok += s.ok(); });
    for (std::int64_t i = 0; i < 50; ++i) {
      Checkpoint c = sample();
      c.offsets[0] = i;
      w.submit(encode_checkpoint(c));
    }
    w.flush();
    auto loaded = load_checkpoint(dir);
    ASSERT_TRUE(loaded.ok() && *loaded);
    EXPECT_EQ((*loaded)->offsets.at(0), 49);  // the last one submitted; earlier ones may be skipped
    EXPECT_GE(ok.load(), 1);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ioc::alerter
