#pragma once
/// Mergeable sketches used by the distinct and quantile aggregations.
///
/// HyperLogLog (distinct count): 2^p one-byte registers, standard error
/// 1.04 / sqrt(2^p) (p = 12: 1.6 %; tests check every estimate stays within
/// 4 standard errors). Small sets use a sparse list (exact register values,
/// linear counting), so a window with a handful of ids costs bytes, not 4 KiB.
/// The input hash is re-mixed, so sequential ids are fine.
///
/// DDSketch (quantiles): logarithmic buckets with gamma = (1 + a) / (1 - a);
/// quantile(q) returns a value within relative error a of the exact order
/// statistic x[floor(q * (n - 1))] (a = 0.01: 1 %), for any data, as long as
/// the values span fewer than max_buckets buckets per sign (2048 buckets at
/// 1 % cover 17 decades); beyond that the smallest magnitudes are collapsed.
/// Values with |v| < 1e-300 count as 0. Bucket counts are 32-bit and saturate
/// at 2^32 - 1 (four billion values in one 1 % bucket of one window).
///
/// Thread-safety: value types, not thread-safe for concurrent mutation.
/// clear() keeps capacity, so pooled sketches do not allocate in steady state.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ioc::window {

class HyperLogLog {
 public:
  static constexpr int kMinPrecision = 4;
  static constexpr int kMaxPrecision = 16;

  explicit HyperLogLog(int precision = 12);

  void add(std::uint64_t hash) noexcept;
  /// Both sketches must have the same precision (checked).
  void merge(const HyperLogLog& other);
  double estimate() const;
  void clear() noexcept;

  int precision() const { return precision_; }
  bool dense() const { return !dense_.empty(); }
  std::size_t memory_bytes() const;
  static double standard_error(int precision);

  /// Serialization support: sparse entries are (register << 8 | rank).
  const std::vector<std::uint32_t>& sparse_entries() const { return sparse_; }
  const std::vector<std::uint8_t>& registers() const { return dense_; }
  /// Rebuilds from serialized parts; false if they are inconsistent.
  bool assign(const std::vector<std::uint32_t>& sparse, const std::vector<std::uint8_t>& registers);

 private:
  void to_dense();
  std::size_t sparse_limit() const;

  int precision_;
  std::vector<std::uint32_t> sparse_;
  std::vector<std::uint8_t> dense_;  // empty: sparse mode
};

class DDSketch {
 public:
  explicit DDSketch(double relative_accuracy = 0.01, std::uint32_t max_buckets = 2048);

  /// v must be finite.
  void add(double v) noexcept;
  /// Both sketches must have the same parameters (checked).
  void merge(const DDSketch& other);
  /// q in [0, 1]; NaN when empty.
  double quantile(double q) const;
  std::uint64_t count() const { return count_; }
  double relative_accuracy() const { return alpha_; }
  std::uint32_t max_buckets() const { return max_buckets_; }
  void clear() noexcept;
  std::size_t memory_bytes() const;

  /// A contiguous run of bucket counts starting at bucket index `offset`.
  struct Store {
    std::int32_t offset = 0;
    std::vector<std::uint32_t> counts;
    void add(std::int32_t index, std::uint64_t n, std::uint32_t max_buckets);
  };
  const Store& positive() const { return pos_; }
  const Store& negative() const { return neg_; }
  std::uint64_t zero_count() const { return zero_; }
  /// Rebuilds from serialized parts; false if they are inconsistent.
  bool assign(const Store& pos, const Store& neg, std::uint64_t zero);

 private:
  std::int32_t index_of(double magnitude) const;
  double value_of(std::int32_t index) const;

  double alpha_;
  double gamma_;
  double multiplier_;  // 1 / ln(gamma)
  std::uint32_t max_buckets_;
  Store pos_;
  Store neg_;
  std::uint64_t zero_ = 0;
  std::uint64_t count_ = 0;
};

}  // namespace ioc::window
