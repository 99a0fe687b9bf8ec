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
/// Values with |v| <= 1e-300 count as 0. Bucket counts are 32-bit and saturate
/// at 2^32 - 1 (four billion values in one 1 % bucket of one window).
///
/// The window engine keeps a window's sketch as a compact log of bucket indices
/// or register ranks (see libs/window/README.md) and switches to these classes
/// when the log outgrows them; register_of / add_register, index_of /
/// add_indexed and estimate(precision, hist) are the shared building blocks, so
/// both forms give bit-identical results.
///
/// Thread-safety: value types, not thread-safe for concurrent mutation.
/// clear() keeps capacity, so pooled sketches do not allocate in steady state.

#include <array>
#include <bit>
#include <cmath>
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

  /// The register a hash updates and the rank it offers (1 + leading zeros of
  /// the remaining bits). add(hash) == add_register(register_of(hash, p)).
  struct Register {
    std::uint32_t index;
    std::uint8_t rank;
  };
  static Register register_of(std::uint64_t hash, int precision) noexcept {
    std::uint64_t h = hash;  // splitmix64 finalizer: sequential ids are fine
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    const std::uint64_t w = (h << precision) | (std::uint64_t{1} << (precision - 1));
    return {static_cast<std::uint32_t>(h >> (64 - precision)), static_cast<std::uint8_t>(std::countl_zero(w) + 1)};
  }
  /// Register r = max(r, rank); index < 2^p, 1 <= rank <= max_rank(p).
  void add_register(Register r) noexcept;
  /// Every register i = max(i, registers[i]) for the 2^p given registers (values
  /// <= max_rank(p)). Leaves the sketch dense.
  void merge_registers(const std::uint8_t* registers) noexcept;
  static int max_rank(int precision) { return 64 - precision + 1; }
  /// hist[r] = number of registers holding r (hist[0]: empty registers).
  using Histogram = std::array<double, 64>;
  /// Ertl's estimate from a register histogram; estimate() is
  /// estimate(precision(), histogram of the registers).
  static double estimate(int precision, const Histogram& hist);

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

  /// Values with |v| <= this count as 0.
  static constexpr double kMinIndexable = 1e-300;
  /// The bucket of a magnitude m > kMinIndexable: bucket i holds (gamma^(i-1), gamma^i].
  std::int32_t index_of(double magnitude) const {
    return static_cast<std::int32_t>(std::ceil(std::log(magnitude) * multiplier_));
  }
  /// The value quantile() reports for bucket i (within alpha of both ends).
  double value_of(std::int32_t index) const;
  /// Adds n values that fall in bucket `index` of one sign (what add() does after
  /// index_of()); add_zero adds n values that count as 0.
  void add_indexed(bool negative, std::int32_t index, std::uint64_t n);
  void add_zero(std::uint64_t n) {
    zero_ += n;
    count_ += n;
  }

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
