#pragma once
// A "slot" is the partial aggregate of one key over one slice of event time
// (a pane, a sliding bucket, a session). It is a run of 8-byte cells whose
// layout is compiled once from the view's aggregations:
//   cell 0: count, cell 1: meta (partition | sample count << 32),
//   then per aggregation: sum/min/max/mean/count_where: 1 cell, last: 2 cells
//   (time, value), distinct: 1 cell, quantiles: 2 cells (the sketch's head; its
//   entries live in the view's SketchPools, see sketch_pools.hpp); then
//   sample_refs cells of record refs.
// Count-only views thus cost 16 bytes per slot. Sketch storage is recycled, so
// steady state does not allocate.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "codec.hpp"
#include "ioc/window/event.hpp"
#include "ioc/window/spec.hpp"
#include "sketch_pools.hpp"

namespace ioc::window::detail {

struct Op {
  AggregationKind kind;
  std::uint32_t cell;
  std::int32_t field;
  std::int32_t match;
  std::uint32_t spec;  // index into ViewSpec::aggregations
};

class Layout {
 public:
  explicit Layout(const ViewSpec& spec);

  std::uint32_t stride() const { return stride_; }
  std::uint32_t value_count() const { return value_count_; }
  bool needs_value() const { return needs_value_; }
  std::uint32_t max_samples() const { return max_samples_; }

  static std::int64_t count(const Cell* s) { return s[0].i; }
  static std::uint32_t sample_count(const Cell* s) { return static_cast<std::uint32_t>(s[1].u >> 32); }
  static std::int32_t partition(const Cell* s) { return static_cast<std::int32_t>(static_cast<std::uint32_t>(s[1].u)); }
  const Cell* samples(const Cell* s) const { return s + sample_cell_; }

  void init(Cell* s, SketchPools& pools) const;
  void release(Cell* s, SketchPools& pools) const;

  // Hot path. True when e.record_ref was kept among the slot's samples.
  bool update(Cell* s, SketchPools& pools, const Event& e) const {
    s[0].i += 1;
    s[1].u = (s[1].u & 0xffffffff00000000ULL) | static_cast<std::uint32_t>(e.partition);
    for (const Op& op : ops_) {
      Cell* c = s + op.cell;
      switch (op.kind) {
        case AggregationKind::kCount: break;
        case AggregationKind::kSum:
        case AggregationKind::kMean: c->d += e.value; break;
        case AggregationKind::kMin: c->d = std::min(c->d, e.value); break;
        case AggregationKind::kMax: c->d = std::max(c->d, e.value); break;
        case AggregationKind::kLast:
          if (e.time_ms >= c[0].i) {
            c[0].i = e.time_ms;
            c[1].d = e.value;
          }
          break;
        case AggregationKind::kCountWhere:
          c->i += e.fields[static_cast<std::size_t>(op.field)] == op.match ? 1 : 0;
          break;
        case AggregationKind::kDistinct: pools.hll_add(c, e.distinct_hash); break;
        case AggregationKind::kQuantiles: pools.dd_add(c, e.value); break;
      }
    }
    if (max_samples_ != 0 && e.record_ref != 0) {
      const std::uint32_t n = sample_count(s);
      if (n < max_samples_) {
        s[sample_cell_ + n].u = e.record_ref;
        s[1].u += std::uint64_t{1} << 32;
        return true;
      }
    }
    return false;
  }

  /// dst (initialized, from dst_pools) += src (from src_pools). Call in time
  /// order: samples of src are appended after dst's.
  void merge(Cell* dst, SketchPools& dst_pools, const Cell* src, const SketchPools& src_pools) const;
  /// One double per value_names() entry.
  void finalize(const Cell* s, const SketchPools& pools, double* out) const;
  void write(ByteWriter& w, const Cell* s, const SketchPools& pools) const;
  /// s must be initialized; false on malformed input.
  bool read(ByteReader& r, Cell* s, SketchPools& pools) const;

 private:
  std::vector<Op> ops_;
  std::vector<std::vector<double>> quantiles_;  // per op
  std::uint32_t stride_ = 2;
  std::uint32_t sample_cell_ = 2;
  std::uint32_t max_samples_ = 0;
  std::uint32_t value_count_ = 0;
  bool needs_value_ = false;
};

/// Cells of many slots with a free list; slot ids stay stable.
class SlotArena {
 public:
  explicit SlotArena(std::uint32_t stride) : stride_(stride) {}
  std::uint32_t allocate() {
    if (!free_.empty()) {
      const auto id = free_.back();
      free_.pop_back();
      return id;
    }
    const auto id = static_cast<std::uint32_t>(cells_.size() / stride_);
    cells_.resize(cells_.size() + stride_);
    return id;
  }
  void free(std::uint32_t id) { free_.push_back(id); }
  Cell* at(std::uint32_t id) { return cells_.data() + static_cast<std::size_t>(id) * stride_; }
  const Cell* at(std::uint32_t id) const { return cells_.data() + static_cast<std::size_t>(id) * stride_; }
  std::size_t bytes() const { return cells_.capacity() * sizeof(Cell) + free_.capacity() * 4; }
  std::size_t live() const { return cells_.size() / stride_ - free_.size(); }

 private:
  std::uint32_t stride_;
  std::vector<Cell> cells_;
  std::vector<std::uint32_t> free_;
};

}  // namespace ioc::window::detail
