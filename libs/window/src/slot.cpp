#include "slot.hpp"

#include "ioc/core/check.hpp"

namespace ioc::window::detail {

Layout::Layout(const ViewSpec& spec) {
  std::uint32_t cell = 2;
  for (std::uint32_t i = 0; i < spec.aggregations.size(); ++i) {
    const auto& a = spec.aggregations[i];
    Op op{a.kind, cell, a.field, a.match, i};
    std::vector<double> qs;
    switch (a.kind) {
      case AggregationKind::kCount:
        op.cell = 0;
        value_count_ += 1;
        break;
      case AggregationKind::kSum:
      case AggregationKind::kMin:
      case AggregationKind::kMax:
      case AggregationKind::kMean:
        needs_value_ = true;
        cell += 1;
        value_count_ += 1;
        break;
      case AggregationKind::kLast:
        needs_value_ = true;
        cell += 2;
        value_count_ += 1;
        break;
      case AggregationKind::kCountWhere:
        cell += 1;
        value_count_ += 1;
        break;
      case AggregationKind::kDistinct:
        cell += SketchPools::kDistinctCells;
        value_count_ += 1;
        break;
      case AggregationKind::kQuantiles:
        needs_value_ = true;
        cell += SketchPools::kQuantileCells;
        qs = a.quantiles;
        value_count_ += static_cast<std::uint32_t>(qs.size());
        break;
    }
    ops_.push_back(op);
    quantiles_.push_back(std::move(qs));
  }
  sample_cell_ = cell;
  max_samples_ = spec.sample_refs;
  stride_ = cell + max_samples_;
}

void Layout::init(Cell* s, SketchPools& pools) const {
  for (std::uint32_t k = 0; k < stride_; ++k) s[k].u = 0;
  for (const Op& op : ops_) {
    Cell* c = s + op.cell;
    switch (op.kind) {
      case AggregationKind::kCount: break;
      case AggregationKind::kSum:
      case AggregationKind::kMean: c->d = 0; break;
      case AggregationKind::kMin: c->d = std::numeric_limits<double>::infinity(); break;
      case AggregationKind::kMax: c->d = -std::numeric_limits<double>::infinity(); break;
      case AggregationKind::kLast:
        c[0].i = std::numeric_limits<std::int64_t>::min();
        c[1].d = 0;
        break;
      case AggregationKind::kCountWhere: c->i = 0; break;
      case AggregationKind::kDistinct: pools.hll_init(c); break;
      case AggregationKind::kQuantiles: pools.dd_init(c); break;
    }
  }
}

void Layout::release(Cell* s, SketchPools& pools) const {
  for (const Op& op : ops_) {
    Cell* c = s + op.cell;
    switch (op.kind) {
      case AggregationKind::kDistinct: pools.hll_release(c); break;
      case AggregationKind::kQuantiles: pools.dd_release(c); break;
      case AggregationKind::kCount:
      case AggregationKind::kSum:
      case AggregationKind::kMin:
      case AggregationKind::kMax:
      case AggregationKind::kMean:
      case AggregationKind::kLast:
      case AggregationKind::kCountWhere: break;
    }
  }
}

void Layout::merge(Cell* dst, SketchPools& dst_pools, const Cell* src, const SketchPools& src_pools) const {
  const bool dst_empty = dst[0].i == 0;
  dst[0].i += src[0].i;
  if (dst_empty) dst[1].u = (dst[1].u & 0xffffffff00000000ULL) | (src[1].u & 0xffffffffULL);
  for (const Op& op : ops_) {
    Cell* d = dst + op.cell;
    const Cell* s = src + op.cell;
    switch (op.kind) {
      case AggregationKind::kCount: break;
      case AggregationKind::kSum:
      case AggregationKind::kMean: d->d += s->d; break;
      case AggregationKind::kMin: d->d = std::min(d->d, s->d); break;
      case AggregationKind::kMax: d->d = std::max(d->d, s->d); break;
      case AggregationKind::kLast:
        // Merges run in time order, so on equal times the later slice wins.
        if (s[0].i >= d[0].i && src[0].i > 0) {
          d[0].i = s[0].i;
          d[1].d = s[1].d;
        }
        break;
      case AggregationKind::kCountWhere: d->i += s->i; break;
      case AggregationKind::kDistinct: dst_pools.hll_merge(d, s, src_pools); break;
      case AggregationKind::kQuantiles: dst_pools.dd_merge(d, s, src_pools); break;
    }
  }
  if (max_samples_ != 0) {
    std::uint32_t n = sample_count(dst);
    const std::uint32_t m = sample_count(src);
    for (std::uint32_t k = 0; k < m && n < max_samples_; ++k, ++n) dst[sample_cell_ + n].u = src[sample_cell_ + k].u;
    dst[1].u = (dst[1].u & 0xffffffffULL) | (std::uint64_t{n} << 32);
  }
}

void Layout::finalize(const Cell* s, const SketchPools& pools, double* out) const {
  std::size_t k = 0;
  for (std::size_t i = 0; i < ops_.size(); ++i) {
    const Op& op = ops_[i];
    const Cell* c = s + op.cell;
    switch (op.kind) {
      case AggregationKind::kCount: out[k++] = static_cast<double>(s[0].i); break;
      case AggregationKind::kSum:
      case AggregationKind::kMin:
      case AggregationKind::kMax: out[k++] = c->d; break;
      case AggregationKind::kMean: out[k++] = s[0].i == 0 ? 0.0 : c->d / static_cast<double>(s[0].i); break;
      case AggregationKind::kLast: out[k++] = c[1].d; break;
      case AggregationKind::kCountWhere: out[k++] = static_cast<double>(c->i); break;
      case AggregationKind::kDistinct: out[k++] = pools.hll_estimate(c); break;
      case AggregationKind::kQuantiles:
        pools.dd_quantiles(c, quantiles_[i], out + k);
        k += quantiles_[i].size();
        break;
    }
  }
}

void Layout::write(ByteWriter& w, const Cell* s, const SketchPools& pools) const {
  w.u64(s[0].u);
  w.u64(s[1].u);
  for (const Op& op : ops_) {
    const Cell* c = s + op.cell;
    switch (op.kind) {
      case AggregationKind::kCount: break;
      case AggregationKind::kSum:
      case AggregationKind::kMin:
      case AggregationKind::kMax:
      case AggregationKind::kMean:
      case AggregationKind::kCountWhere: w.u64(c->u); break;
      case AggregationKind::kLast:
        w.u64(c[0].u);
        w.u64(c[1].u);
        break;
      case AggregationKind::kDistinct: pools.hll_write(w, c); break;
      case AggregationKind::kQuantiles: pools.dd_write(w, c); break;
    }
  }
  const std::uint32_t n = sample_count(s);
  for (std::uint32_t k = 0; k < n; ++k) w.u64(s[sample_cell_ + k].u);
}

bool Layout::read(ByteReader& r, Cell* s, SketchPools& pools) const {
  s[0].u = r.u64();
  s[1].u = r.u64();
  if (s[0].i < 0 || sample_count(s) > max_samples_) return false;
  for (const Op& op : ops_) {
    Cell* c = s + op.cell;
    switch (op.kind) {
      case AggregationKind::kCount: break;
      case AggregationKind::kSum:
      case AggregationKind::kMin:
      case AggregationKind::kMax:
      case AggregationKind::kMean:
      case AggregationKind::kCountWhere: c->u = r.u64(); break;
      case AggregationKind::kLast:
        c[0].u = r.u64();
        c[1].u = r.u64();
        break;
      case AggregationKind::kDistinct:
        if (!pools.hll_read(r, c)) return false;
        break;
      case AggregationKind::kQuantiles:
        if (!pools.dd_read(r, c)) return false;
        break;
    }
  }
  const std::uint32_t n = sample_count(s);
  for (std::uint32_t k = 0; k < n; ++k) s[sample_cell_ + k].u = r.u64();
  return r.ok();
}

}  // namespace ioc::window::detail
