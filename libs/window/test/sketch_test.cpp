#include "ioc/window/sketch.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace ioc::window {
namespace {

TEST(HyperLogLogTest, ErrorWithinFourStandardErrors) {
  std::mt19937_64 rng(7);
  for (const int p : {10, 12, 14}) {
    const double se = HyperLogLog::standard_error(p);
    for (const std::uint64_t n : {1ULL, 10ULL, 100ULL, 1000ULL, 5000ULL, 10'000ULL, 30'000ULL, 100'000ULL}) {
      double sum_abs = 0;
      const int trials = 8;
      for (int t = 0; t < trials; ++t) {
        HyperLogLog h(p);
        const std::uint64_t base = rng();
        for (std::uint64_t i = 0; i < n; ++i) h.add(base + i);  // sequential ids: the sketch re-mixes
        const double err = (h.estimate() - static_cast<double>(n)) / static_cast<double>(n);
        EXPECT_LE(std::abs(err), 4 * se) << "p=" << p << " n=" << n;
        sum_abs += std::abs(err);
      }
      EXPECT_LE(sum_abs / trials, 1.5 * se) << "p=" << p << " n=" << n;
    }
  }
}

TEST(HyperLogLogTest, DuplicatesDoNotCountAndMergeIsUnion) {
  HyperLogLog a(12);
  HyperLogLog b(12);
  for (int r = 0; r < 5; ++r) {
    for (std::uint64_t i = 0; i < 3000; ++i) a.add(i);
  }
  for (std::uint64_t i = 2000; i < 6000; ++i) b.add(i);
  EXPECT_NEAR(a.estimate(), 3000, 3000 * 4 * HyperLogLog::standard_error(12));
  a.merge(b);
  EXPECT_NEAR(a.estimate(), 6000, 6000 * 4 * HyperLogLog::standard_error(12));
  HyperLogLog small(12);
  for (std::uint64_t i = 0; i < 20; ++i) small.add(i);
  EXPECT_FALSE(small.dense());
  EXPECT_NEAR(small.estimate(), 20, 0.5);
  EXPECT_EQ(small.estimate(), std::round(small.estimate()));  // whole numbers
  a.clear();
  EXPECT_EQ(a.estimate(), 0);
}

TEST(DDSketchTest, QuantilesWithinRelativeAccuracy) {
  std::mt19937_64 rng(3);
  for (const double alpha : {0.01, 0.02, 0.05}) {
    for (int dist = 0; dist < 3; ++dist) {
      DDSketch s(alpha);
      std::vector<double> xs;
      for (int i = 0; i < 20'000; ++i) {
        double x = 0;
        switch (dist) {
          case 0: x = std::lognormal_distribution<double>(3, 1.5)(rng); break;
          case 1: x = std::uniform_real_distribution<double>(-1000, 1000)(rng); break;
          case 2: x = std::exponential_distribution<double>(0.01)(rng) + 1e-6; break;
        }
        xs.push_back(x);
        s.add(x);
      }
      std::sort(xs.begin(), xs.end());
      for (const double q : {0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0}) {
        const double exact = xs[static_cast<std::size_t>(std::floor(q * (xs.size() - 1)))];
        EXPECT_NEAR(s.quantile(q), exact, alpha * std::abs(exact) * (1 + 1e-9)) << "alpha " << alpha << " q " << q;
      }
    }
  }
}

TEST(DDSketchTest, MergeEqualsSketchOfUnion) {
  DDSketch a;
  DDSketch b;
  DDSketch all;
  for (int i = 1; i <= 1000; ++i) {
    (i % 2 ? a : b).add(i * 1.5);
    all.add(i * 1.5);
  }
  a.merge(b);
  for (const double q : {0.1, 0.5, 0.95}) EXPECT_EQ(a.quantile(q), all.quantile(q));
  EXPECT_EQ(a.count(), 1000U);
  EXPECT_TRUE(std::isnan(DDSketch().quantile(0.5)));
  DDSketch z;
  z.add(0);
  z.add(-0.0);
  EXPECT_EQ(z.quantile(0.5), 0);
}

TEST(DDSketchTest, BucketCountIsBoundedByCollapsingSmallValues) {
  DDSketch s(0.01, 64);
  for (int e = -300; e <= 300; ++e) s.add(std::pow(10.0, e));
  EXPECT_LE(s.positive().counts.size(), 64U);
  // The top of the distribution keeps its accuracy.
  EXPECT_NEAR(s.quantile(1.0), 1e300, 1e300 * 0.01);
}

}  // namespace
}  // namespace ioc::window
