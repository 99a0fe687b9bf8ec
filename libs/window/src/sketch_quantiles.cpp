// SketchPools, quantiles: the logs of DDSketch bucket indices, their
// promotion to full sketches, results and snapshots (see sketch_pools.hpp).
#include "sketch_pools.hpp"

#include <algorithm>
#include <bit>
#include <functional>
#include <limits>
#include <utility>

namespace ioc::window::detail {

namespace {

// The bucket indices of one sign of a log, as DDSketch stores them: a store keeps
// the max_buckets highest buckets and counts lower ones in the lowest kept one.
// Counted over their span, so order statistics need no sort.
class SignBuckets {
 public:
  SignBuckets(const std::int32_t* idx, std::uint32_t n, std::uint32_t max_buckets) {
    if (n == 0) return;
    const auto [mn, mx] = std::minmax_element(idx, idx + n);
    lo_ = static_cast<std::int32_t>(std::max<std::int64_t>(*mn, std::int64_t{*mx} - max_buckets + 1));
    span_ = static_cast<std::uint32_t>(*mx - lo_) + 1;
    if (span_ <= kCountSpan) {
      std::fill_n(counts_.begin(), span_, std::uint16_t{0});
      for (std::uint32_t k = 0; k < n; ++k) ++counts_[static_cast<std::uint32_t>(std::max(idx[k], lo_) - lo_)];
    } else {
      for (std::uint32_t k = 0; k < n; ++k) sorted_[k] = std::max(idx[k], lo_);
      std::sort(sorted_.begin(), sorted_.begin() + n);
      n_sorted_ = n;
    }
  }
  /// The k-th smallest index (0-based, k < n).
  std::int32_t smallest(std::uint64_t k) const {
    if (n_sorted_ != 0) return sorted_[k];
    std::uint64_t cum = 0;
    for (std::uint32_t i = 0;; ++i) {
      cum += counts_[i];
      if (cum > k) return lo_ + static_cast<std::int32_t>(i);
    }
  }
  /// f(index, count) for every non-empty bucket, index ascending.
  template <typename F>
  void for_each(F f) const {
    if (n_sorted_ != 0) {
      for (std::uint32_t k = 0; k < n_sorted_;) {
        std::uint32_t j = k + 1;
        while (j < n_sorted_ && sorted_[j] == sorted_[k]) ++j;
        f(sorted_[k], j - k);
        k = j;
      }
      return;
    }
    for (std::uint32_t i = 0; i < span_; ++i) {
      if (counts_[i] != 0) f(lo_ + static_cast<std::int32_t>(i), std::uint32_t{counts_[i]});
    }
  }

 private:
  static constexpr std::uint32_t kCountSpan = 2048;
  std::int32_t lo_ = 0;
  std::uint32_t span_ = 0;
  std::uint32_t n_sorted_ = 0;
  std::array<std::uint16_t, kCountSpan> counts_;
  std::array<std::int32_t, SketchPools::kMaxEntries> sorted_;
};

}  // namespace

void SketchPools::dd_release(Cell* c) {
  const auto h = load<QuantileHead>(c);
  if (h.size == kPromoted) {
    dd_[h.tail].clear();
    dd_free_.push_back(h.tail);
  } else {
    segments_.free_chain(h.tail);
  }
  store(c, QuantileHead{});
}

void SketchPools::dd_add_slow(Cell* c, double v) {
  const auto h = load<QuantileHead>(c);
  if (h.size == kPromoted) {
    dd_[h.tail].add(v);
  } else if (v > DDSketch::kMinIndexable || v < -DDSketch::kMinIndexable) {
    const bool negative = v < 0;
    dd_insert(c, negative, dd_proto_.index_of(negative ? -v : v));
  } else {
    dd_add_zeros(c, 1);
  }
}

void SketchPools::dd_add_zeros(Cell* c, std::uint64_t n) {
  auto h = load<QuantileHead>(c);
  if (h.size != kPromoted && n <= 0xffffffffULL - h.zero) {
    h.zero = static_cast<std::uint32_t>(h.zero + n);
    store(c, h);
    return;
  }
  DDSketch& d = h.size == kPromoted ? dd_[h.tail] : dd_promote(c);
  d.add_zero(n);
}

void SketchPools::dd_insert(Cell* c, bool negative, std::int32_t index) {
  auto h = load<QuantileHead>(c);
  if (h.size == kPromoted) {
    dd_[h.tail].add_indexed(negative, index, 1);
    return;
  }
  if (h.size == 0) h.base = index;
  const std::int64_t rel = static_cast<std::int64_t>(index) - h.base;
  const std::uint32_t at = h.size % SegmentArena::kEntries;
  // Dense is checked when the log doubles (2, 4, 8 segments): amortized O(1).
  const std::uint32_t segs = h.size / SegmentArena::kEntries;
  if (rel < -kRelRange || rel >= kRelRange || h.size >= kMaxEntries ||
      (at == 0 && segs >= 2 && std::has_single_bit(segs) && dd_dense_is_smaller(h))) {
    dd_promote(c).add_indexed(negative, index, 1);
    return;
  }
  if (at == 0) h.tail = segments_.allocate(h.tail);
  segments_.at(h.tail).entry[at] = encode_bucket(static_cast<std::int32_t>(rel), negative);
  ++h.size;
  store(c, h);
}

bool SketchPools::dd_dense_is_smaller(const QuantileHead& h) const {
  Entries buf;
  const std::uint32_t n = gather(h.tail, h.size, buf);
  std::int32_t lo[2] = {std::numeric_limits<std::int32_t>::max(), std::numeric_limits<std::int32_t>::max()};
  std::int32_t hi[2] = {std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::min()};
  for (std::uint32_t k = 0; k < n; ++k) {
    const int s = entry_negative(buf[k]) ? 1 : 0;
    lo[s] = std::min(lo[s], entry_rel(buf[k]));
    hi[s] = std::max(hi[s], entry_rel(buf[k]));
  }
  std::size_t dense = sizeof(DDSketch);
  for (int s = 0; s < 2; ++s) {
    if (lo[s] <= hi[s]) {
      dense += std::min<std::size_t>(static_cast<std::size_t>(hi[s] - lo[s]) + 1, dd_proto_.max_buckets()) *
               sizeof(std::uint32_t);
    }
  }
  const std::size_t log_after_growth = (h.size / SegmentArena::kEntries + 1) * sizeof(SegmentArena::Segment);
  return dense <= log_after_growth;
}

DDSketch& SketchPools::dd_promote(Cell* c) {
  const auto h = load<QuantileHead>(c);
  const std::uint32_t k = acquire_dd();
  DDSketch& d = dd_[k];
  std::array<std::int32_t, kMaxEntries> rel[2];
  std::uint32_t n[2];
  dd_split(h, rel, n);
  // Counted and in index order, so the dense stores grow at one end, once per bucket.
  for (int s = 0; s < 2; ++s) {
    SignBuckets(rel[s].data(), n[s], dd_proto_.max_buckets()).for_each([&](std::int32_t index, std::uint32_t count) {
      d.add_indexed(s == 1, h.base + index, count);
    });
  }
  if (h.zero != 0) d.add_zero(h.zero);
  segments_.free_chain(h.tail);
  QuantileHead p;
  p.tail = k;
  p.size = kPromoted;
  store(c, p);
  return d;
}

void SketchPools::dd_merge(Cell* dst, const Cell* src, const SketchPools& src_pools) {
  const auto s = load<QuantileHead>(src);
  if (s.size == kPromoted) {
    if (load<QuantileHead>(dst).size != kPromoted) dd_promote(dst);
    dd_[load<QuantileHead>(dst).tail].merge(src_pools.dd_[s.tail]);
    return;
  }
  // Copy first: src may live in this arena, which dst's growth may change.
  Entries buf;
  const std::uint32_t n = src_pools.gather(s.tail, s.size, buf);
  for (std::uint32_t k = 0; k < n; ++k) dd_insert(dst, entry_negative(buf[k]), s.base + entry_rel(buf[k]));
  if (s.zero != 0) dd_add_zeros(dst, s.zero);
}

void SketchPools::dd_split(const QuantileHead& h, std::array<std::int32_t, kMaxEntries> (&rel)[2],
                           std::uint32_t (&n)[2]) const {
  Entries buf;
  const std::uint32_t size = gather(h.tail, h.size, buf);
  n[0] = n[1] = 0;
  for (std::uint32_t k = 0; k < size; ++k) {
    const int s = entry_negative(buf[k]) ? 1 : 0;
    rel[s][n[s]++] = entry_rel(buf[k]);
  }
}

void SketchPools::dd_quantiles(const Cell* c, std::span<const double> qs, double* out) const {
  const auto h = load<QuantileHead>(c);
  if (h.size == kPromoted) {
    const DDSketch& d = dd_[h.tail];
    for (std::size_t k = 0; k < qs.size(); ++k) out[k] = d.quantile(qs[k]);
    return;
  }
  const std::uint64_t count = std::uint64_t{h.zero} + h.size;
  if (count == 0) {
    for (std::size_t k = 0; k < qs.size(); ++k) out[k] = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  std::array<std::int32_t, kMaxEntries> rel[2];
  std::uint32_t n[2];
  dd_split(h, rel, n);
  const SignBuckets pos(rel[0].data(), n[0], dd_proto_.max_buckets());
  const SignBuckets neg(rel[1].data(), n[1], dd_proto_.max_buckets());
  // DDSketch::quantile returns the bucket where the running count first exceeds
  // rank = q (count - 1): the bucket of the value at position floor(rank) in
  // ascending order (negatives by falling bucket, zeros, positives).
  for (std::size_t k = 0; k < qs.size(); ++k) {
    const double rank = std::clamp(qs[k], 0.0, 1.0) * static_cast<double>(count - 1);
    const auto at = static_cast<std::uint64_t>(rank);
    if (at < n[1]) {
      out[k] = -dd_proto_.value_of(h.base + neg.smallest(n[1] - 1 - at));
    } else if (at < n[1] + std::uint64_t{h.zero}) {
      out[k] = 0;
    } else {
      out[k] = dd_proto_.value_of(h.base + pos.smallest(at - n[1] - h.zero));
    }
  }
}

void SketchPools::dd_buckets(const Cell* c, std::vector<Bucket>& pos, std::vector<Bucket>& neg,
                             std::uint64_t& zero) const {
  pos.clear();
  neg.clear();
  const auto h = load<QuantileHead>(c);
  if (h.size == kPromoted) {
    const DDSketch& d = dd_[h.tail];
    for (auto [st, out] : {std::pair{&d.positive(), &pos}, std::pair{&d.negative(), &neg}}) {
      for (std::size_t k = 0; k < st->counts.size(); ++k) {
        if (st->counts[k] != 0) out->push_back({st->offset + static_cast<std::int32_t>(k), st->counts[k]});
      }
    }
    zero = d.zero_count();
    return;
  }
  zero = h.zero;
  std::array<std::int32_t, kMaxEntries> rel[2];
  std::uint32_t n[2];
  dd_split(h, rel, n);
  for (int s = 0; s < 2; ++s) {
    auto& out = s == 0 ? pos : neg;
    SignBuckets(rel[s].data(), n[s], dd_proto_.max_buckets()).for_each([&](std::int32_t index, std::uint32_t count) {
      out.push_back({h.base + index, count});
    });
  }
}

// Snapshot form of one sign: u8 form; 0: u64 n, n x (i32 index, u32 count);
// 1: i32 first index, u64 n, n x u32 count (a run, for dense content).
void SketchPools::dd_write(ByteWriter& w, const Cell* c) const {
  std::vector<Bucket> pos;
  std::vector<Bucket> neg;
  std::uint64_t zero = 0;
  dd_buckets(c, pos, neg, zero);
  w.u64(zero);
  for (const auto* b : {&pos, &neg}) {
    const std::size_t span = b->empty() ? 0 : static_cast<std::size_t>(b->back().index - b->front().index) + 1;
    if (b->empty() || span * 4 > b->size() * 8) {
      w.u8(0);
      w.u64(b->size());
      for (const auto& x : *b) {
        w.i32(x.index);
        w.u32(x.count);
      }
    } else {
      w.u8(1);
      w.i32(b->front().index);
      w.u64(span);
      std::size_t k = 0;
      for (std::size_t i = 0; i < span; ++i) {
        const bool here = (*b)[k].index - b->front().index == static_cast<std::int32_t>(i);
        w.u32(here ? (*b)[k++].count : 0);
      }
    }
  }
}

bool SketchPools::dd_read(ByteReader& r, Cell* c) {
  const std::uint64_t zero = r.u64();
  std::vector<Bucket> sign[2];
  std::uint64_t total = 0;
  for (auto& b : sign) {
    const std::uint8_t form = r.u8();
    if (form == 0) {
      b.resize(r.count(8));
      for (auto& x : b) {
        x.index = r.i32();
        x.count = r.u32();
      }
    } else if (form == 1) {
      const std::int32_t first = r.i32();
      const std::uint64_t n = r.count(4);
      if (n > dd_proto_.max_buckets()) return false;
      for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint32_t count = r.u32();
        if (count != 0) b.push_back({static_cast<std::int32_t>(first + static_cast<std::int64_t>(i)), count});
      }
    } else {
      return false;
    }
    if (!r.ok()) return false;
    for (std::size_t k = 0; k < b.size(); ++k) {
      if (b[k].count == 0 || (k > 0 && b[k].index <= b[k - 1].index)) return false;
      total += b[k].count;
    }
    if (!b.empty() && static_cast<std::int64_t>(b.back().index) - b.front().index >= dd_proto_.max_buckets()) {
      return false;
    }
  }
  if (total <= kMaxEntries) {
    for (int s = 0; s < 2; ++s) {
      for (const auto& x : sign[s]) {
        for (std::uint32_t k = 0; k < x.count; ++k) dd_insert(c, s == 1, x.index);
      }
    }
    if (zero != 0) dd_add_zeros(c, zero);
    return true;
  }
  DDSketch::Store st[2];
  for (int s = 0; s < 2; ++s) {
    if (sign[s].empty()) continue;
    st[s].offset = sign[s].front().index;
    st[s].counts.assign(static_cast<std::size_t>(sign[s].back().index - sign[s].front().index) + 1, 0);
    for (const auto& x : sign[s]) st[s].counts[static_cast<std::size_t>(x.index - st[s].offset)] = x.count;
  }
  if (load<QuantileHead>(c).size != kPromoted) dd_promote(c);
  return dd_[load<QuantileHead>(c).tail].assign(st[0], st[1], zero);
}

}  // namespace ioc::window::detail
