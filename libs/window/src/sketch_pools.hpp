#pragma once
// The distinct and quantile sketches of one view's slots.
//
// Most key-windows see few values (60 events per key per minute is typical), so a
// slot's sketch starts compact: a 16-byte (quantiles) or 8-byte (distinct) head in
// the slot's own cells and a log of 16-bit entries, one per value, appended to
// 64-byte segments (30 entries each, cache-line aligned) from a per-view arena.
// An event touches the slot's cells and the one segment it appends to; nothing is
// searched, sorted or moved on the hot path.
//
//   quantiles entry: (bucket index - base) << 1 | negative   (DDSketch buckets)
//   distinct entry:  register << (16 - p) | rank             (HyperLogLog registers)
//
// The log holds exactly what the full sketch would hold (bucket indices, register
// ranks), so results are bit-identical to DDSketch / HyperLogLog fed the same
// values. They are computed from a copy of the log when a window is emitted:
// buckets counted over their span, registers in a 2^p byte map; no sort.
// Repeated registers are compacted away when a distinct log doubles.
//
// A log is promoted to a full DDSketch / HyperLogLog object (pooled, capacity kept)
// when that is smaller or the encoding runs out of room: more than kMaxEntries
// entries, a bucket 2^14 buckets away from the first, more than 2^32 - 1 zeros, a
// rank that needs more than 16 - p bits (p > 12: always), more distinct registers
// than min(256, 2^p / 4). A promoted sketch stays promoted until its slot is
// released. Snapshots write the canonical content (buckets, registers), never the
// representation, so equal sketches give equal bytes.
//
// Segments and pooled objects are recycled through free lists, so steady state
// does not allocate. Not thread-safe for mutation; const methods only read.

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "codec.hpp"
#include "ioc/window/sketch.hpp"

namespace ioc::window::detail {

union Cell {
  std::int64_t i;
  double d;
  std::uint64_t u;
};
static_assert(sizeof(Cell) == 8);

inline constexpr std::uint32_t kNoHandle = 0xffffffffU;

/// 64-byte segments of 30 16-bit entries, linked backwards (a log's head keeps
/// its last segment). Handles stay valid as the arena grows (64 KiB blocks).
class SegmentArena {
 public:
  static constexpr std::uint32_t kEntries = 30;
  struct alignas(64) Segment {
    std::uint32_t prev;  // previous segment of the log, kNoHandle for the first
    std::uint16_t entry[kEntries];
  };
  static_assert(sizeof(Segment) == 64);

  std::uint32_t allocate(std::uint32_t prev) {
    std::uint32_t s = free_;
    if (s != kNoHandle) {
      free_ = at(s).prev;
    } else {
      s = carve();
    }
    at(s).prev = prev;
    return s;
  }
  /// Frees `tail` and every segment before it.
  void free_chain(std::uint32_t tail) {
    while (tail != kNoHandle) {
      const std::uint32_t prev = at(tail).prev;
      at(tail).prev = free_;
      free_ = tail;
      tail = prev;
    }
  }
  Segment& at(std::uint32_t s) { return blocks_[s >> kBlockShift]->seg[s & (kBlockSize - 1)]; }
  const Segment& at(std::uint32_t s) const { return blocks_[s >> kBlockShift]->seg[s & (kBlockSize - 1)]; }
  std::size_t bytes() const { return blocks_.size() * sizeof(Block) + blocks_.capacity() * sizeof(void*); }

 private:
  static constexpr std::uint32_t kBlockShift = 10;
  static constexpr std::uint32_t kBlockSize = 1U << kBlockShift;  // 64 KiB
  struct Block {
    std::array<Segment, kBlockSize> seg;
  };
  std::uint32_t carve();

  std::vector<std::unique_ptr<Block>> blocks_;
  std::uint32_t carved_ = 0;
  std::uint32_t free_ = kNoHandle;
};

class SketchPools {
 public:
  /// Cells a sketch takes in a slot.
  static constexpr std::uint32_t kQuantileCells = 2;
  static constexpr std::uint32_t kDistinctCells = 1;
  /// Longest log before promotion: 16 segments.
  static constexpr std::uint32_t kMaxEntries = 16 * SegmentArena::kEntries;

  SketchPools(int hll_precision, double dd_accuracy, std::uint32_t dd_max_buckets);

  // ----- quantiles (DDSketch)
  void dd_init(Cell* c) const { store(c, QuantileHead{}); }
  void dd_release(Cell* c);
  /// Hot path: the common case appends one entry to the tail segment.
  void dd_add(Cell* c, double v) {
    QuantileHead h = load<QuantileHead>(c);
    if (h.size < kMaxEntries) {  // small (also excludes kPromoted)
      const std::uint32_t at = h.size % SegmentArena::kEntries;
      if (v > DDSketch::kMinIndexable || v < -DDSketch::kMinIndexable) {
        const bool negative = v < 0;
        const std::int32_t rel = dd_proto_.index_of(negative ? -v : v) - h.base;
        if (at != 0 && rel >= -kRelRange && rel < kRelRange) {
          segments_.at(h.tail).entry[at] = encode_bucket(rel, negative);
          ++h.size;
          store(c, h);
          return;
        }
      } else if (h.zero != 0xffffffffU) {
        ++h.zero;
        store(c, h);
        return;
      }
    }
    dd_add_slow(c, v);
  }
  /// dst += src (src lives in src_pools, possibly *this).
  void dd_merge(Cell* dst, const Cell* src, const SketchPools& src_pools);
  /// One value per q, bit-identical to DDSketch::quantile.
  void dd_quantiles(const Cell* c, std::span<const double> qs, double* out) const;
  void dd_write(ByteWriter& w, const Cell* c) const;
  /// c must be initialized and empty; false on malformed input.
  bool dd_read(ByteReader& r, Cell* c);
  /// Still a compact log (tests, diagnostics).
  bool dd_small(const Cell* c) const { return load<QuantileHead>(c).size != kPromoted; }

  // ----- distinct (HyperLogLog)
  void hll_init(Cell* c);
  void hll_release(Cell* c);
  void hll_add(Cell* c, std::uint64_t hash) {
    const HyperLogLog::Register reg = HyperLogLog::register_of(hash, hll_precision_);
    DistinctHead h = load<DistinctHead>(c);
    const std::uint32_t at = h.size % SegmentArena::kEntries;
    if (at != 0 && h.size != kPromoted && reg.rank <= hll_max_small_rank_) {
      segments_.at(h.tail).entry[at] = static_cast<std::uint16_t>((reg.index << hll_shift_) | reg.rank);
      ++h.size;
      store(c, h);
      return;
    }
    hll_insert_slow(c, reg);
  }
  void hll_merge(Cell* dst, const Cell* src, const SketchPools& src_pools);
  /// Bit-identical to HyperLogLog::estimate.
  double hll_estimate(const Cell* c) const;
  void hll_write(ByteWriter& w, const Cell* c) const;
  bool hll_read(ByteReader& r, Cell* c);
  bool hll_small(const Cell* c) const { return load<DistinctHead>(c).size != kPromoted; }

  /// Everything held: segments (used or free), pooled objects, free lists.
  std::size_t bytes() const;

 private:
  static constexpr std::uint16_t kPromoted = 0xffff;  // head.size of a promoted sketch
  static constexpr std::int32_t kRelRange = 1 << 14;  // quantile entries: rel in [-2^14, 2^14)

  struct QuantileHead {
    std::uint32_t tail = kNoHandle;  // last segment; promoted: DDSketch index
    std::int32_t base = 0;           // bucket index of the first entry; entries are relative to it
    std::uint32_t zero = 0;          // values counted as 0
    std::uint16_t size = 0;          // entries; kPromoted
    std::uint16_t unused = 0;
  };
  static_assert(sizeof(QuantileHead) == kQuantileCells * sizeof(Cell));
  static_assert(std::is_trivially_copyable_v<QuantileHead>);
  struct DistinctHead {
    std::uint32_t tail = kNoHandle;  // last segment; promoted: HyperLogLog index
    std::uint16_t size = 0;          // entries, repeated registers included; kPromoted
    std::uint16_t unique = 0;        // entries that were distinct after the last compaction
  };
  static_assert(sizeof(DistinctHead) == kDistinctCells * sizeof(Cell));
  static_assert(std::is_trivially_copyable_v<DistinctHead>);

  template <typename Head>
  static Head load(const Cell* c) {
    Head h;
    std::memcpy(static_cast<void*>(&h), c, sizeof h);  // trivially copyable; -Wclass-memaccess
    return h;
  }
  template <typename Head>
  static void store(Cell* c, const Head& h) {
    std::memcpy(static_cast<void*>(c), &h, sizeof h);
  }
  static std::uint16_t encode_bucket(std::int32_t rel, bool negative) {
    return static_cast<std::uint16_t>(static_cast<std::uint32_t>(rel * 2) | (negative ? 1U : 0U));
  }
  static std::int32_t entry_rel(std::uint16_t e) { return static_cast<std::int16_t>(e) >> 1; }
  static bool entry_negative(std::uint16_t e) { return (e & 1U) != 0; }

  /// A copy of one log (entries past its size are garbage).
  using Entries = std::array<std::uint16_t, kMaxEntries>;
  /// Copies a log's entries into out, first segment first; returns size.
  std::uint32_t gather(std::uint32_t tail, std::uint32_t size, Entries& out) const;

  void dd_add_slow(Cell* c, double v);
  /// Relative bucket indices of a small log by sign (0: positive, 1: negative).
  void dd_split(const QuantileHead& h, std::array<std::int32_t, kMaxEntries> (&rel)[2], std::uint32_t (&n)[2]) const;
  /// Adds one value of bucket `index` of one sign (n = 1) to a small or promoted sketch.
  void dd_insert(Cell* c, bool negative, std::int32_t index);
  void dd_add_zeros(Cell* c, std::uint64_t n);
  DDSketch& dd_promote(Cell* c);
  bool dd_dense_is_smaller(const QuantileHead& h) const;
  /// Canonical content: non-empty buckets of each sign after collapsing (index ascending).
  struct Bucket {
    std::int32_t index;
    std::uint32_t count;
  };
  void dd_buckets(const Cell* c, std::vector<Bucket>& pos, std::vector<Bucket>& neg, std::uint64_t& zero) const;

  void hll_insert_slow(Cell* c, HyperLogLog::Register reg);
  HyperLogLog& hll_promote(Cell* c);
  /// Highest rank per register of a log (p <= 12), without sorting.
  using RegisterMap = std::array<std::uint8_t, std::size_t{1} << 12>;
  /// Gathers the log into buf; returns its size.
  std::uint32_t hll_best(const DistinctHead& h, Entries& buf, RegisterMap& best) const;
  /// Keeps one entry per register (the highest rank).
  void hll_compact(Cell* c);
  /// Distinct registers as (index, rank), index ascending.
  void hll_registers(const Cell* c, std::vector<HyperLogLog::Register>& out) const;

  std::uint32_t acquire_dd();
  std::uint32_t acquire_hll();

  int hll_precision_;
  std::uint32_t hll_shift_;           // 16 - p
  std::uint32_t hll_max_small_rank_;  // 0 when p > 12: distinct sketches start promoted
  std::uint32_t hll_small_limit_;     // distinct registers a log may hold
  DDSketch dd_proto_;                 // bucket mapping and parameters
  SegmentArena segments_;
  std::vector<DDSketch> dd_;
  std::vector<std::uint32_t> dd_free_;
  std::vector<HyperLogLog> hll_;
  std::vector<std::uint32_t> hll_free_;
};

}  // namespace ioc::window::detail
