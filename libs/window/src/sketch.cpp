#include "ioc/window/sketch.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>

#include "ioc/core/check.hpp"

namespace ioc::window {

// ---------------------------------------------------------------- HyperLogLog

HyperLogLog::HyperLogLog(int precision) : precision_(precision) {
  IOC_CHECK(precision >= kMinPrecision && precision <= kMaxPrecision);
}

std::size_t HyperLogLog::sparse_limit() const {
  // A sparse entry costs 4 bytes, a register 1: switch at 1/8 of the dense size.
  return std::min<std::size_t>(128, (std::size_t{1} << precision_) / 8);
}

void HyperLogLog::add(std::uint64_t hash) noexcept { add_register(register_of(hash, precision_)); }

void HyperLogLog::add_register(Register r) noexcept {
  const std::uint32_t index = r.index;
  const std::uint8_t rank = r.rank;
  if (!dense_.empty()) {
    if (dense_[index] < rank) dense_[index] = rank;
    return;
  }
  for (auto& e : sparse_) {
    if ((e >> 8) == index) {
      if ((e & 0xffU) < rank) e = (index << 8) | rank;
      return;
    }
  }
  if (sparse_.size() < sparse_limit()) {
    sparse_.push_back((index << 8) | rank);
    return;
  }
  to_dense();
  if (dense_[index] < rank) dense_[index] = rank;
}

void HyperLogLog::merge_registers(const std::uint8_t* registers) noexcept {
  if (dense_.empty()) to_dense();
  for (std::size_t i = 0; i < dense_.size(); ++i) dense_[i] = std::max(dense_[i], registers[i]);
}

void HyperLogLog::to_dense() {
  dense_.assign(std::size_t{1} << precision_, 0);
  for (const auto e : sparse_) {
    auto& r = dense_[e >> 8];
    r = std::max<std::uint8_t>(r, static_cast<std::uint8_t>(e & 0xffU));
  }
  sparse_.clear();
}

void HyperLogLog::merge(const HyperLogLog& other) {
  IOC_CHECK(other.precision_ == precision_);
  if (!other.dense_.empty()) {
    merge_registers(other.dense_.data());
    return;
  }
  for (const auto e : other.sparse_) {
    const std::uint32_t index = e >> 8;
    const auto rank = static_cast<std::uint8_t>(e & 0xffU);
    if (!dense_.empty()) {
      dense_[index] = std::max(dense_[index], rank);
      continue;
    }
    bool found = false;
    for (auto& mine : sparse_) {
      if ((mine >> 8) == index) {
        if ((mine & 0xffU) < rank) mine = e;
        found = true;
        break;
      }
    }
    if (found) continue;
    if (sparse_.size() < sparse_limit()) {
      sparse_.push_back(e);
    } else {
      to_dense();
      dense_[index] = std::max(dense_[index], rank);
    }
  }
}

// Ertl's improved estimator ("New cardinality estimation algorithms for
// HyperLogLog sketches", 2017): unbiased over the whole range without the
// empirical bias tables of HLL++, from the histogram of register values.
namespace {
double hll_sigma(double x) {
  if (x == 1) return std::numeric_limits<double>::infinity();
  double y = 1;
  double z = x;
  for (;;) {
    x *= x;
    const double prev = z;
    z += x * y;
    y += y;
    if (z == prev) return z;
  }
}
double hll_tau(double x) {
  if (x == 0 || x == 1) return 0;
  double y = 1;
  double z = 1 - x;
  for (;;) {
    x = std::sqrt(x);
    const double prev = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
    if (z == prev) return z / 3;
  }
}
}  // namespace

double HyperLogLog::estimate() const {
  const double m = static_cast<double>(std::size_t{1} << precision_);
  Histogram hist{};
  if (!dense_.empty()) {
    // Integer counts in four interleaved histograms: no chains of dependent adds.
    std::array<std::array<std::uint32_t, 64>, 4> h{};
    for (std::size_t i = 0; i < dense_.size(); i += 4) {
      ++h[0][dense_[i]];
      ++h[1][dense_[i + 1]];
      ++h[2][dense_[i + 2]];
      ++h[3][dense_[i + 3]];
    }
    for (std::size_t r = 0; r < hist.size(); ++r) hist[r] = static_cast<double>(h[0][r] + h[1][r] + h[2][r] + h[3][r]);
  } else {
    hist[0] = m - static_cast<double>(sparse_.size());
    for (const auto e : sparse_) hist[e & 0xffU] += 1;
  }
  return estimate(precision_, hist);
}

double HyperLogLog::estimate(int precision, const Histogram& hist) {
  const int q = 64 - precision;
  const double m = static_cast<double>(std::size_t{1} << precision);
  if (hist[0] == m) return 0;
  double z = m * hll_tau(1 - hist[static_cast<std::size_t>(q) + 1] / m);
  for (int k = q; k >= 1; --k) z = 0.5 * (z + hist[static_cast<std::size_t>(k)]);
  z += m * hll_sigma(hist[0] / m);
  // A number of distinct things is whole: 3.0011 would read as a fault on
  // a wall showing "stations reporting". Rounding is far inside the error.
  return std::round(m * m / (2 * std::log(2.0)) / z);
}

void HyperLogLog::clear() noexcept {
  sparse_.clear();
  dense_.clear();
}

std::size_t HyperLogLog::memory_bytes() const {
  return sizeof(*this) + sparse_.capacity() * sizeof(std::uint32_t) + dense_.capacity();
}

double HyperLogLog::standard_error(int precision) {
  return 1.04 / std::sqrt(static_cast<double>(std::size_t{1} << precision));
}

bool HyperLogLog::assign(const std::vector<std::uint32_t>& sparse, const std::vector<std::uint8_t>& registers) {
  const std::size_t m = std::size_t{1} << precision_;
  const auto max_rank = static_cast<std::uint32_t>(64 - precision_ + 1);
  if (!registers.empty() && (registers.size() != m || !sparse.empty())) return false;
  if (sparse.size() > sparse_limit()) return false;
  for (const auto r : registers) {
    if (r > max_rank) return false;
  }
  for (const auto e : sparse) {
    if ((e >> 8) >= m || (e & 0xffU) == 0 || (e & 0xffU) > max_rank) return false;
  }
  sparse_.assign(sparse.begin(), sparse.end());
  dense_.assign(registers.begin(), registers.end());
  return true;
}

// ------------------------------------------------------------------- DDSketch

DDSketch::DDSketch(double relative_accuracy, std::uint32_t max_buckets)
    : alpha_(relative_accuracy),
      gamma_((1 + relative_accuracy) / (1 - relative_accuracy)),
      multiplier_(1 / std::log(gamma_)),
      max_buckets_(max_buckets) {
  IOC_CHECK(relative_accuracy > 0 && relative_accuracy < 1);
  IOC_CHECK(max_buckets >= 16);
}

double DDSketch::value_of(std::int32_t index) const {
  // Bucket i holds (gamma^(i-1), gamma^i]; this point is within alpha of both ends.
  return 2 * std::pow(gamma_, index) / (gamma_ + 1);
}

void DDSketch::Store::add(std::int32_t index, std::uint64_t n, std::uint32_t max_buckets) {
  const auto max = static_cast<std::int64_t>(max_buckets);
  auto bump = [](std::uint32_t& c, std::uint64_t k) {
    const std::uint64_t sum = c + k;
    c = sum > 0xffffffffULL ? 0xffffffffU : static_cast<std::uint32_t>(sum);
  };
  if (counts.empty()) {
    offset = index;
    counts.push_back(0);
    bump(counts.front(), n);
    return;
  }
  const std::int64_t hi = std::max<std::int64_t>(offset + static_cast<std::int64_t>(counts.size()) - 1, index);
  const std::int64_t lowest_kept = hi - max + 1;
  std::int64_t i = std::max<std::int64_t>(index, lowest_kept);  // collapse the smallest magnitudes
  if (i < offset) {
    counts.insert(counts.begin(), static_cast<std::size_t>(offset - i), 0);
    offset = static_cast<std::int32_t>(i);
  } else if (i >= offset + static_cast<std::int64_t>(counts.size())) {
    counts.resize(static_cast<std::size_t>(i - offset + 1), 0);
    if (counts.size() > max_buckets) {
      const std::size_t drop = counts.size() - max_buckets;
      std::uint64_t folded = 0;
      for (std::size_t k = 0; k < drop; ++k) folded += counts[k];
      counts.erase(counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(drop));
      bump(counts.front(), folded);
      offset = static_cast<std::int32_t>(offset + static_cast<std::int64_t>(drop));
    }
  }
  bump(counts[static_cast<std::size_t>(i - offset)], n);
}

void DDSketch::add(double v) noexcept {
  ++count_;
  if (v > kMinIndexable) {
    pos_.add(index_of(v), 1, max_buckets_);
  } else if (v < -kMinIndexable) {
    neg_.add(index_of(-v), 1, max_buckets_);
  } else {
    ++zero_;
  }
}

void DDSketch::add_indexed(bool negative, std::int32_t index, std::uint64_t n) {
  count_ += n;
  (negative ? neg_ : pos_).add(index, n, max_buckets_);
}

void DDSketch::merge(const DDSketch& other) {
  IOC_CHECK(other.alpha_ == alpha_ && other.max_buckets_ == max_buckets_);
  for (std::size_t k = 0; k < other.pos_.counts.size(); ++k) {
    if (other.pos_.counts[k] != 0) {
      pos_.add(other.pos_.offset + static_cast<std::int32_t>(k), other.pos_.counts[k], max_buckets_);
    }
  }
  for (std::size_t k = 0; k < other.neg_.counts.size(); ++k) {
    if (other.neg_.counts[k] != 0) {
      neg_.add(other.neg_.offset + static_cast<std::int32_t>(k), other.neg_.counts[k], max_buckets_);
    }
  }
  zero_ += other.zero_;
  count_ += other.count_;
}

double DDSketch::quantile(double q) const {
  if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
  q = std::clamp(q, 0.0, 1.0);
  const double rank = q * static_cast<double>(count_ - 1);
  double cum = 0;
  for (std::size_t k = neg_.counts.size(); k-- > 0;) {
    cum += static_cast<double>(neg_.counts[k]);
    if (cum > rank) return -value_of(neg_.offset + static_cast<std::int32_t>(k));
  }
  cum += static_cast<double>(zero_);
  if (cum > rank) return 0;
  for (std::size_t k = 0; k < pos_.counts.size(); ++k) {
    cum += static_cast<double>(pos_.counts[k]);
    if (cum > rank) return value_of(pos_.offset + static_cast<std::int32_t>(k));
  }
  if (!pos_.counts.empty()) return value_of(pos_.offset + static_cast<std::int32_t>(pos_.counts.size() - 1));
  return 0;
}

void DDSketch::clear() noexcept {
  pos_.counts.clear();
  neg_.counts.clear();
  pos_.offset = neg_.offset = 0;
  zero_ = count_ = 0;
}

std::size_t DDSketch::memory_bytes() const {
  return sizeof(*this) + (pos_.counts.capacity() + neg_.counts.capacity()) * sizeof(std::uint32_t);
}

bool DDSketch::assign(const Store& pos, const Store& neg, std::uint64_t zero) {
  if (pos.counts.size() > max_buckets_ || neg.counts.size() > max_buckets_) return false;
  std::uint64_t total = zero;
  for (const auto c : pos.counts) total += c;
  for (const auto c : neg.counts) total += c;
  pos_.offset = pos.offset;
  pos_.counts.assign(pos.counts.begin(), pos.counts.end());
  neg_.offset = neg.offset;
  neg_.counts.assign(neg.counts.begin(), neg.counts.end());
  zero_ = zero;
  count_ = total;
  return true;
}

}  // namespace ioc::window
