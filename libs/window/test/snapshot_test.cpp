// Snapshot/restore equivalence, corrupt input handling and snapshot merges.

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <set>

#include "ioc/core/bytes.hpp"
#include "ioc/window/engine.hpp"
#include "script.hpp"

namespace ioc::window {
namespace {

using testing::Recorded;
using testing::Step;

ViewSpec spec_for(WindowKind kind, EmitMode mode) {
  ViewSpec s;
  s.name = std::string("v_") + to_string(kind);
  s.window.kind = kind;
  s.window.size = Millis(kind == WindowKind::kSliding ? 12 : 30);
  s.window.advance = Millis(kind == WindowKind::kHopping ? 10 : 30);
  s.window.gap = Millis(9);
  s.aggregations = {AggregationSpec::count("n"), AggregationSpec::sum("sum"), AggregationSpec::min("min"),
                    AggregationSpec::max("max"), AggregationSpec::mean("mean"), AggregationSpec::last("last"),
                    AggregationSpec::count_where("w", 1, 1), AggregationSpec::distinct("d"),
                    AggregationSpec::quantile("q", {0.5, 0.99})};
  s.allowed_lateness = Millis(7);
  s.out_of_orderness = Millis(5);
  s.idle_timeout = Millis(40);
  s.emit = EmitPolicy{mode, Millis(4)};
  s.sample_refs = 2;
  return s;
}

TEST(SnapshotTest, RestoreContinuesExactlyWhereTheOldEngineStopped) {
  std::mt19937_64 rng(99);
  int cases = 0;
  for (const auto kind : {WindowKind::kTumbling, WindowKind::kHopping, WindowKind::kSliding, WindowKind::kSession}) {
    for (const auto mode : {EmitMode::kFinalOnly, EmitMode::kOnUpdate, EmitMode::kBoth}) {
      const ViewSpec spec = spec_for(kind, mode);
      for (int c = 0; c < 25; ++c, ++cases) {
        testing::ScriptParams p;
        p.events = 150;
        p.keys = 5;
        p.partitions = 2;
        const auto steps = testing::make_script(rng, p);
        const std::size_t split = std::uniform_int_distribution<std::size_t>(0, steps.size())(rng);

        auto whole = Engine::create({spec}).value();
        const Recorded expected = testing::run(whole, steps);

        auto first = Engine::create({spec}).value();
        Recorded rec = testing::run(first, steps, 0, split);
        const auto bytes = first.snapshot();
        auto second = Engine::create({spec}).value();
        ASSERT_TRUE(second.restore(bytes).ok());
        EXPECT_EQ(second.snapshot(), bytes) << "snapshots are canonical";
        rec = testing::run(second, steps, split, SIZE_MAX, std::move(rec));
        ASSERT_EQ(rec, expected) << to_string(kind) << "/" << to_string(mode) << " case " << c << " split " << split;
        EXPECT_EQ(second.stats(0).accepted_events, whole.stats(0).accepted_events);
      }
    }
  }
  EXPECT_EQ(cases, 300);
}

class SnapshotErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto spec = spec_for(WindowKind::kTumbling, EmitMode::kBoth);
    engine_ = std::make_unique<Engine>(Engine::create({spec}).value());
    Event e;
    for (int i = 0; i < 50; ++i) {
      e.key = static_cast<GroupKey>(i % 3);
      e.time_ms = i;
      e.value = i;
      e.distinct_hash = static_cast<std::uint64_t>(i);
      engine_->add(0, e);
    }
    engine_->advance(10);
    bytes_ = engine_->snapshot();
  }
  Status restore_into_fresh(const std::vector<std::uint8_t>& b) {
    auto fresh = Engine::create({spec_for(WindowKind::kTumbling, EmitMode::kBoth)}).value();
    return fresh.restore(b);
  }
  std::unique_ptr<Engine> engine_;
  std::vector<std::uint8_t> bytes_;
};

TEST_F(SnapshotErrorTest, CorruptByteIsDetectedByChecksum) {
  for (std::size_t at : {std::size_t{30}, bytes_.size() / 2, bytes_.size() - 5}) {
    auto b = bytes_;
    b[at] ^= 0x40;
    const auto s = restore_into_fresh(b);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kDataLoss);
    EXPECT_EQ(s.error().message, "snapshot checksum mismatch (corrupt data)");
  }
}

TEST_F(SnapshotErrorTest, TruncatedBadMagicAndUnknownVersion) {
  auto b = bytes_;
  b.resize(b.size() - 1);
  EXPECT_EQ(restore_into_fresh(b).error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(restore_into_fresh({}).error().code, ErrorCode::kDataLoss);
  b = bytes_;
  b[0] = 'X';
  EXPECT_EQ(restore_into_fresh(b).error().message, "not a window engine snapshot (bad magic)");
  ASSERT_EQ(Engine::kSnapshotVersion, 4U);
  for (const std::uint8_t version : {1, 5}) {  // 1: the format before compact sketches
    b = bytes_;
    b[8] = version;
    const auto s = restore_into_fresh(b);
    EXPECT_EQ(s.error().code, ErrorCode::kDataLoss);
    EXPECT_EQ(s.error().message, "snapshot version " + std::to_string(version) +
                                     " is not supported (this build reads versions 2 to 4)");
  }
}

// Older releases wrote version 3 (no early-result clock) and version 2 (also
// no length of each view's section). Their checkpoints restore after an
// upgrade.
constexpr std::size_t kEmitClockBytes = 1 + 3 * 8;

std::vector<std::uint8_t> as_older(const std::vector<std::uint8_t>& v4, std::uint8_t version) {
  ByteReader r(std::span<const std::uint8_t>(v4).subspan(20, v4.size() - 24));
  std::vector<std::uint8_t> old(v4.begin(), v4.begin() + 20);
  ByteWriter<std::vector<std::uint8_t>> w(old);
  const std::uint32_t n = r.u32();
  w.u32(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    w.str(r.view());
    w.u64(r.u64());
    std::string_view section = r.view();
    section.remove_suffix(kEmitClockBytes);
    if (version == 2) {
      old.insert(old.end(), section.begin(), section.end());
    } else {
      w.str(section);
    }
  }
  EXPECT_TRUE(r.ok());
  old[8] = version;
  const std::uint64_t size = old.size() - 20;
  std::memcpy(old.data() + 12, &size, sizeof(size));
  w.u32(crc32(std::span<const std::uint8_t>(old).subspan(20, size)));
  return old;
}

TEST_F(SnapshotErrorTest, Version2And3SnapshotsRestore) {
  for (const std::uint8_t version : {2, 3}) {
    const auto old = as_older(bytes_, version);
    auto fresh = Engine::create({spec_for(WindowKind::kTumbling, EmitMode::kBoth)}).value();
    ASSERT_TRUE(fresh.restore(old).ok()) << int(version);
    // The same windows; only the early-result clock starts over.
    const auto again = fresh.snapshot();
    EXPECT_EQ(again.size(), bytes_.size());
    EXPECT_EQ(as_older(again, version), old);
  }
  // Version 2 cannot skip a view: a changed spec is refused.
  auto other_spec = spec_for(WindowKind::kTumbling, EmitMode::kBoth);
  other_spec.allowed_lateness = Millis(8);
  auto other = Engine::create({other_spec}).value();
  EXPECT_FALSE(other.restore_matching(as_older(bytes_, 2)).ok());
}

// Views change (views.yaml edited): the views whose spec is unchanged keep
// their windows; an added or changed view starts empty; a removed one goes.
TEST(SnapshotViewsTest, UnchangedViewsKeepTheirStateWhenOthersChange) {
  const ViewSpec kept = spec_for(WindowKind::kTumbling, EmitMode::kBoth);
  const ViewSpec removed = spec_for(WindowKind::kSession, EmitMode::kFinalOnly);
  ViewSpec changed = spec_for(WindowKind::kHopping, EmitMode::kBoth);
  auto before = Engine::create({removed, changed, kept}).value();
  Event e;
  for (int i = 0; i < 40; ++i) {
    e.key = static_cast<GroupKey>(i % 3);
    e.time_ms = i;
    e.value = i;
    for (ViewId v = 0; v < 3; ++v) before.add(v, e);
  }
  before.advance(10);
  const auto bytes = before.snapshot();

  changed.allowed_lateness = Millis(99);
  ViewSpec added = spec_for(WindowKind::kSliding, EmitMode::kBoth);
  auto after = Engine::create({kept, added, changed}).value();
  const auto restored = after.restore_matching(bytes);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(*restored, (std::vector<bool>{true, false, false}));
  EXPECT_EQ(after.query_open(0, 1), before.query_open(2, 1));
  EXPECT_EQ(after.stats(0).accepted_events, 40u);
  EXPECT_EQ(after.stats(1).open_windows, 0u);
  EXPECT_EQ(after.stats(2).open_windows, 0u);
  // The strict form refuses what restore_matching accepts.
  auto strict = Engine::create({kept, added, changed}).value();
  EXPECT_FALSE(strict.restore(bytes).ok());
  // Corrupt data leaves the engine as it was.
  auto corrupt = bytes;
  corrupt[corrupt.size() / 2] ^= 1;
  const auto snap = after.snapshot();
  EXPECT_FALSE(after.restore_matching(corrupt).ok());
  EXPECT_EQ(after.snapshot(), snap);
}

TEST_F(SnapshotErrorTest, DifferentSpecIsRejectedAndEngineUnchanged) {
  auto other_spec = spec_for(WindowKind::kTumbling, EmitMode::kBoth);
  other_spec.allowed_lateness = Millis(8);
  auto other = Engine::create({other_spec}).value();
  Event e;
  e.time_ms = 5;
  other.add(0, e);
  const auto before = other.snapshot();
  const auto s = other.restore(bytes_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("different spec"), std::string::npos);
  EXPECT_EQ(other.snapshot(), before);
}

}  // namespace
}  // namespace ioc::window
