// The compact sketch store of slots against the full sketches: results must be
// bit-identical to DDSketch / HyperLogLog fed the same values, in the compact and
// the promoted representation, after merges and after a snapshot round trip.

#include "sketch_pools.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace ioc::window::detail {
namespace {

constexpr double kQs[] = {0.0, 0.001, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0};
constexpr std::size_t kSizes[] = {0, 1, 2, 29, 30, 31, 59, 60, 61, 200, 479, 480, 481, 1500};

// Named value distributions; each stresses one way out of the compact form.
std::vector<double> values(std::mt19937_64& rng, int dist, std::size_t n) {
  std::vector<double> v;
  for (std::size_t i = 0; i < n; ++i) {
    switch (dist) {
      case 0:
        v.push_back(std::lognormal_distribution<double>(3, 1.5)(rng));
        break;  // latencies
      case 1:
        v.push_back(std::uniform_real_distribution<double>(-1000, 1000)(rng));
        break;  // both signs
      case 2:   // many zeros (and values that count as 0)
        v.push_back(rng() % 3 == 0 ? (rng() % 2 == 0 ? 0.0 : 1e-301)
                                   : std::exponential_distribution<double>(0.01)(rng));
        break;
      case 3:
        v.push_back(42.0);
        break;  // one bucket: dense is smaller
      case 4:   // buckets 2^14 apart
        v.push_back((rng() % 2 == 0 ? 1 : -1) * std::pow(10.0, std::uniform_real_distribution<double>(-250, 250)(rng)));
        break;
      case 5:
        v.push_back(static_cast<double>(1 + rng() % 5));
        break;  // few buckets, many repeats
    }
  }
  return v;
}
constexpr int kDists = 6;

struct QuantileCell {
  std::array<Cell, SketchPools::kQuantileCells> c;
};

void expect_same_quantiles(const SketchPools& pools, const Cell* c, const DDSketch& want, const std::string& what) {
  double got[std::size(kQs)];
  pools.dd_quantiles(c, kQs, got);
  for (std::size_t k = 0; k < std::size(kQs); ++k) {
    const double w = want.quantile(kQs[k]);
    if (std::isnan(w)) {
      EXPECT_TRUE(std::isnan(got[k])) << what << " q=" << kQs[k];
    } else {
      EXPECT_EQ(got[k], w) << what << " q=" << kQs[k];
    }
  }
}

std::vector<std::uint8_t> dd_bytes(const SketchPools& pools, const Cell* c) {
  std::vector<std::uint8_t> out;
  ByteWriter w(out);
  pools.dd_write(w, c);
  return out;
}

TEST(SketchPoolsTest, QuantilesAreBitIdenticalToDDSketch) {
  std::mt19937_64 rng(17);
  int small = 0;
  int promoted = 0;
  for (const double alpha : {0.01, 0.05, 0.0001}) {
    for (const std::uint32_t max_buckets : {2048U, 16U}) {
      SketchPools pools(12, alpha, max_buckets);
      for (int dist = 0; dist < kDists; ++dist) {
        for (const std::size_t n : kSizes) {
          const std::string what = "alpha " + std::to_string(alpha) + " buckets " + std::to_string(max_buckets) +
                                   " dist " + std::to_string(dist) + " n " + std::to_string(n);
          DDSketch want(alpha, max_buckets);
          QuantileCell q;
          pools.dd_init(q.c.data());
          for (const double v : values(rng, dist, n)) {
            want.add(v);
            pools.dd_add(q.c.data(), v);
          }
          (pools.dd_small(q.c.data()) ? small : promoted) += 1;
          expect_same_quantiles(pools, q.c.data(), want, what);

          // Snapshot round trip into other pools: same results, same bytes.
          const auto bytes = dd_bytes(pools, q.c.data());
          SketchPools other(12, alpha, max_buckets);
          QuantileCell r;
          other.dd_init(r.c.data());
          ByteReader reader(bytes);
          ASSERT_TRUE(other.dd_read(reader, r.c.data())) << what;
          EXPECT_EQ(reader.remaining(), 0U);
          expect_same_quantiles(other, r.c.data(), want, what + " restored");
          EXPECT_EQ(dd_bytes(other, r.c.data()), bytes) << what;
          pools.dd_release(q.c.data());
          other.dd_release(r.c.data());
          if (::testing::Test::HasFailure()) return;
        }
      }
    }
  }
  // Both representations were exercised.
  EXPECT_GT(small, 50);
  EXPECT_GT(promoted, 50);
}

TEST(SketchPoolsTest, CompactFormHoldsATypicalWindowAndPromotesBeyondIt) {
  std::mt19937_64 rng(5);
  SketchPools pools(12, 0.01, 2048);
  QuantileCell q;
  pools.dd_init(q.c.data());
  for (const double v : values(rng, 0, 60)) pools.dd_add(q.c.data(), v);
  EXPECT_TRUE(pools.dd_small(q.c.data()));
  for (const double v : values(rng, 0, SketchPools::kMaxEntries - 60)) pools.dd_add(q.c.data(), v);
  EXPECT_TRUE(pools.dd_small(q.c.data()));
  pools.dd_add(q.c.data(), 1.0);
  EXPECT_FALSE(pools.dd_small(q.c.data()));
  pools.dd_release(q.c.data());
  // A constant value promotes early: one dense bucket is smaller than the log.
  pools.dd_init(q.c.data());
  for (int i = 0; i < 100; ++i) pools.dd_add(q.c.data(), 7.0);
  EXPECT_FALSE(pools.dd_small(q.c.data()));
  pools.dd_release(q.c.data());
}

TEST(SketchPoolsTest, QuantileMergeMatchesDDSketchOfUnion) {
  std::mt19937_64 rng(23);
  for (const bool same_pools : {true, false}) {
    SketchPools pa(12, 0.01, 2048);
    SketchPools pb(12, 0.01, 2048);
    SketchPools& src_pools = same_pools ? pa : pb;
    for (int dist = 0; dist < kDists; ++dist) {
      for (const std::size_t na : {0, 1, 40, 500}) {
        for (const std::size_t nb : {0, 1, 40, 500}) {
          const std::string what = "same " + std::to_string(same_pools) + " dist " + std::to_string(dist) + " " +
                                   std::to_string(na) + "+" + std::to_string(nb);
          DDSketch want;
          QuantileCell a;
          QuantileCell b;
          pa.dd_init(a.c.data());
          src_pools.dd_init(b.c.data());
          for (const double v : values(rng, dist, na)) {
            want.add(v);
            pa.dd_add(a.c.data(), v);
          }
          for (const double v : values(rng, dist, nb)) {
            want.add(v);
            src_pools.dd_add(b.c.data(), v);
          }
          pa.dd_merge(a.c.data(), b.c.data(), src_pools);
          expect_same_quantiles(pa, a.c.data(), want, what);
          pa.dd_release(a.c.data());
          src_pools.dd_release(b.c.data());
          if (::testing::Test::HasFailure()) return;
        }
      }
    }
  }
}

TEST(SketchPoolsTest, SnapshotBytesDoNotDependOnTheRepresentation) {
  // With 16 buckets per sign, 1e-200 collapses into the lowest kept bucket below
  // 1e200. Far apart, the pair forces a promoted sketch; the collapsed pair fits
  // the compact log. Same content, same bytes.
  SketchPools pools(12, 0.01, 16);
  const DDSketch mapping(0.01, 16);
  const std::int32_t top = mapping.index_of(1e200);
  QuantileCell promoted;
  QuantileCell small;
  pools.dd_init(promoted.c.data());
  pools.dd_init(small.c.data());
  pools.dd_add(promoted.c.data(), 1e200);
  pools.dd_add(promoted.c.data(), 1e-200);
  pools.dd_add(small.c.data(), 1e200);
  pools.dd_add(small.c.data(), mapping.value_of(top - 15));
  ASSERT_FALSE(pools.dd_small(promoted.c.data()));
  ASSERT_TRUE(pools.dd_small(small.c.data()));
  EXPECT_EQ(dd_bytes(pools, promoted.c.data()), dd_bytes(pools, small.c.data()));
  double a[std::size(kQs)];
  double b[std::size(kQs)];
  pools.dd_quantiles(promoted.c.data(), kQs, a);
  pools.dd_quantiles(small.c.data(), kQs, b);
  for (std::size_t k = 0; k < std::size(kQs); ++k) EXPECT_EQ(a[k], b[k]);
}

std::vector<std::uint8_t> hll_bytes(const SketchPools& pools, const Cell* c) {
  std::vector<std::uint8_t> out;
  ByteWriter w(out);
  pools.hll_write(w, c);
  return out;
}

// n distinct ids, each added `repeat` times, interleaved.
std::vector<std::uint64_t> ids(std::mt19937_64& rng, std::size_t n, int repeat) {
  const std::uint64_t base = rng();
  std::vector<std::uint64_t> v;
  for (int r = 0; r < repeat; ++r) {
    for (std::size_t i = 0; i < n; ++i) v.push_back(base + i);
  }
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

TEST(SketchPoolsTest, DistinctIsBitIdenticalToHyperLogLog) {
  std::mt19937_64 rng(29);
  int small = 0;
  int promoted = 0;
  for (const int p : {4, 8, 10, 12, 13, 16}) {
    SketchPools pools(p, 0.01, 2048);
    for (const std::size_t n : {0, 1, 5, 29, 30, 31, 60, 100, 256, 257, 300, 1000, 5000}) {
      for (const int repeat : {1, 3}) {
        const std::string what = "p " + std::to_string(p) + " n " + std::to_string(n) + " x" + std::to_string(repeat);
        HyperLogLog want(p);
        std::array<Cell, SketchPools::kDistinctCells> c;
        pools.hll_init(c.data());
        for (const auto id : ids(rng, n, repeat)) {
          want.add(id);
          pools.hll_add(c.data(), id);
        }
        (pools.hll_small(c.data()) ? small : promoted) += 1;
        EXPECT_EQ(pools.hll_estimate(c.data()), want.estimate()) << what;

        const auto bytes = hll_bytes(pools, c.data());
        SketchPools other(p, 0.01, 2048);
        std::array<Cell, SketchPools::kDistinctCells> r;
        other.hll_init(r.data());
        ByteReader reader(bytes);
        ASSERT_TRUE(other.hll_read(reader, r.data())) << what;
        EXPECT_EQ(reader.remaining(), 0U);
        EXPECT_EQ(other.hll_estimate(r.data()), want.estimate()) << what << " restored";
        EXPECT_EQ(hll_bytes(other, r.data()), bytes) << what;
        pools.hll_release(c.data());
        other.hll_release(r.data());
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
  EXPECT_GT(small, 20);
  EXPECT_GT(promoted, 20);
}

TEST(SketchPoolsTest, DistinctCompactFormLimits) {
  std::mt19937_64 rng(31);
  SketchPools pools(12, 0.01, 2048);
  std::array<Cell, SketchPools::kDistinctCells> c;
  pools.hll_init(c.data());
  for (const auto id : ids(rng, 60, 10)) pools.hll_add(c.data(), id);  // repeats are compacted away
  EXPECT_TRUE(pools.hll_small(c.data()));
  for (const auto id : ids(rng, 1000, 1)) pools.hll_add(c.data(), id);
  EXPECT_FALSE(pools.hll_small(c.data()));
  pools.hll_release(c.data());

  // A rank that needs more than 16 - p bits promotes at once; the estimate is unchanged.
  std::uint64_t id = 0;
  while (HyperLogLog::register_of(id, 12).rank <= 15) ++id;
  HyperLogLog want(12);
  pools.hll_init(c.data());
  for (const std::uint64_t x : {std::uint64_t{1}, std::uint64_t{2}, id}) {
    want.add(x);
    pools.hll_add(c.data(), x);
  }
  EXPECT_FALSE(pools.hll_small(c.data()));
  EXPECT_EQ(pools.hll_estimate(c.data()), want.estimate());
  pools.hll_release(c.data());

  // p > 12: registers do not fit 16-bit entries; the sketch starts full.
  SketchPools wide(14, 0.01, 2048);
  wide.hll_init(c.data());
  EXPECT_FALSE(wide.hll_small(c.data()));
  wide.hll_release(c.data());
}

TEST(SketchPoolsTest, DistinctMergeIsUnion) {
  std::mt19937_64 rng(37);
  for (const bool same_pools : {true, false}) {
    SketchPools pa(12, 0.01, 2048);
    SketchPools pb(12, 0.01, 2048);
    SketchPools& src_pools = same_pools ? pa : pb;
    for (const std::size_t na : {0, 1, 40, 200, 2000}) {
      for (const std::size_t nb : {0, 1, 40, 200, 2000}) {
        HyperLogLog want(12);
        std::array<Cell, SketchPools::kDistinctCells> a;
        std::array<Cell, SketchPools::kDistinctCells> b;
        pa.hll_init(a.data());
        src_pools.hll_init(b.data());
        for (const auto id : ids(rng, na, 2)) {
          want.add(id);
          pa.hll_add(a.data(), id);
        }
        for (const auto id : ids(rng, nb, 2)) {
          want.add(id);
          src_pools.hll_add(b.data(), id);
        }
        pa.hll_merge(a.data(), b.data(), src_pools);
        EXPECT_EQ(pa.hll_estimate(a.data()), want.estimate()) << same_pools << " " << na << "+" << nb;
        pa.hll_release(a.data());
        src_pools.hll_release(b.data());
      }
    }
  }
}

TEST(SketchPoolsTest, SteadyStateReusesSegments) {
  // The same compact workload twice: segments released by the first round are
  // reused, nothing new is held. (Promoted sketches are pooled objects that keep
  // their capacity; their size follows the largest window they served.)
  SketchPools pools(12, 0.01, 2048);
  std::vector<std::array<Cell, SketchPools::kQuantileCells + SketchPools::kDistinctCells>> slots(500);
  std::size_t first = 0;
  for (int round = 0; round < 2; ++round) {
    std::mt19937_64 rng(43);
    for (auto& s : slots) {
      pools.dd_init(s.data());
      pools.hll_init(s.data() + SketchPools::kQuantileCells);
    }
    for (int i = 0; i < 50'000; ++i) {
      auto& s = slots[rng() % slots.size()];
      pools.dd_add(s.data(), std::lognormal_distribution<double>(3, 1.5)(rng));
      const std::uint64_t id = rng();
      if (HyperLogLog::register_of(id, 12).rank <= 15) pools.hll_add(s.data() + SketchPools::kQuantileCells, id);
    }
    for (auto& s : slots) {
      EXPECT_TRUE(pools.dd_small(s.data()));
      EXPECT_TRUE(pools.hll_small(s.data() + SketchPools::kQuantileCells));
      pools.dd_release(s.data());
      pools.hll_release(s.data() + SketchPools::kQuantileCells);
    }
    if (round == 0) first = pools.bytes();
  }
  EXPECT_EQ(pools.bytes(), first);
}

}  // namespace
}  // namespace ioc::window::detail
