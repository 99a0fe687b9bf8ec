#include "sketch_pools.hpp"

#include <algorithm>
#include <bit>
#include <functional>
#include <limits>
#include <utility>

namespace ioc::window::detail {

std::uint32_t SegmentArena::carve() {
  if (carved_ == blocks_.size() * kBlockSize) blocks_.push_back(std::make_unique<Block>());
  return carved_++;
}

SketchPools::SketchPools(int hll_precision, double dd_accuracy, std::uint32_t dd_max_buckets)
    : hll_precision_(hll_precision),
      hll_shift_(hll_precision <= 12 ? static_cast<std::uint32_t>(16 - hll_precision) : 0),
      hll_max_small_rank_(hll_precision <= 12 ? (1U << hll_shift_) - 1 : 0),
      hll_small_limit_(std::min<std::uint32_t>(256, (1U << hll_precision) / 4)),
      dd_proto_(dd_accuracy, dd_max_buckets) {}

std::uint32_t SketchPools::gather(std::uint32_t tail, std::uint32_t size, Entries& out) const {
  if (size == 0) return 0;
  // Whole segments (a fixed-size copy): the tail's unused entries land past size.
  constexpr std::uint32_t per = SegmentArena::kEntries;
  std::uint32_t at = (size - 1) / per * per;
  for (std::uint32_t s = tail;;) {
    const auto& seg = segments_.at(s);
    std::memcpy(out.data() + at, seg.entry, sizeof seg.entry);
    s = seg.prev;
    if (s == kNoHandle) break;
    at -= per;
  }
  return size;
}

std::uint32_t SketchPools::acquire_dd() {
  if (!dd_free_.empty()) {
    const auto k = dd_free_.back();
    dd_free_.pop_back();
    return k;
  }
  dd_.emplace_back(dd_proto_.relative_accuracy(), dd_proto_.max_buckets());
  return static_cast<std::uint32_t>(dd_.size() - 1);
}

std::uint32_t SketchPools::acquire_hll() {
  if (!hll_free_.empty()) {
    const auto k = hll_free_.back();
    hll_free_.pop_back();
    return k;
  }
  hll_.emplace_back(hll_precision_);
  return static_cast<std::uint32_t>(hll_.size() - 1);
}

std::size_t SketchPools::bytes() const {
  std::size_t b = segments_.bytes() + (dd_free_.capacity() + hll_free_.capacity()) * sizeof(std::uint32_t);
  for (const auto& s : dd_) b += s.memory_bytes();
  for (const auto& s : hll_) b += s.memory_bytes();
  b += (dd_.capacity() - dd_.size()) * sizeof(DDSketch) + (hll_.capacity() - hll_.size()) * sizeof(HyperLogLog);
  return b;
}

// ------------------------------------------------------------------ quantiles

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

// ------------------------------------------------------------------- distinct

void SketchPools::hll_init(Cell* c) {
  DistinctHead h;
  if (hll_max_small_rank_ == 0) {  // p > 12: registers do not fit 16-bit entries
    h.tail = acquire_hll();
    h.size = kPromoted;
  }
  store(c, h);
}

void SketchPools::hll_release(Cell* c) {
  const auto h = load<DistinctHead>(c);
  if (h.size == kPromoted) {
    hll_[h.tail].clear();
    hll_free_.push_back(h.tail);
  } else {
    segments_.free_chain(h.tail);
  }
  store(c, DistinctHead{});
}

void SketchPools::hll_insert_slow(Cell* c, HyperLogLog::Register reg) {
  auto h = load<DistinctHead>(c);
  if (h.size == kPromoted) {
    hll_[h.tail].add_register(reg);
    return;
  }
  if (reg.rank > hll_max_small_rank_) {
    hll_promote(c).add_register(reg);
    return;
  }
  std::uint32_t at = h.size % SegmentArena::kEntries;
  // The tail is full. Drop repeated registers when the log doubled (2, 4, 8, 16
  // segments) and something arrived since the last compaction: amortized O(1).
  const std::uint32_t segs = h.size / SegmentArena::kEntries;
  if (at == 0 && ((segs >= 2 && std::has_single_bit(segs) && h.size != h.unique) || h.size >= kMaxEntries)) {
    hll_compact(c);
    h = load<DistinctHead>(c);
    if (h.unique > hll_small_limit_) {
      hll_promote(c).add_register(reg);
      return;
    }
    at = h.size % SegmentArena::kEntries;
  }
  if (at == 0) h.tail = segments_.allocate(h.tail);
  segments_.at(h.tail).entry[at] = static_cast<std::uint16_t>((reg.index << hll_shift_) | reg.rank);
  ++h.size;
  store(c, h);
}

std::uint32_t SketchPools::hll_best(const DistinctHead& h, Entries& buf, RegisterMap& best) const {
  const std::uint32_t n = gather(h.tail, h.size, buf);
  std::memset(best.data(), 0, std::size_t{1} << hll_precision_);
  const std::uint32_t mask = (1U << hll_shift_) - 1;
  for (std::uint32_t k = 0; k < n; ++k) {
    auto& b = best[buf[k] >> hll_shift_];
    b = std::max(b, static_cast<std::uint8_t>(buf[k] & mask));
  }
  return n;
}

void SketchPools::hll_compact(Cell* c) {
  auto h = load<DistinctHead>(c);
  Entries buf;
  RegisterMap best;
  const std::uint32_t n = hll_best(h, buf, best);
  // One entry per register with its highest rank, in first-seen order.
  std::uint32_t m = 0;
  for (std::uint32_t k = 0; k < n; ++k) {
    const std::uint32_t i = buf[k] >> hll_shift_;
    buf[m] = static_cast<std::uint16_t>((i << hll_shift_) | best[i]);
    m += best[i] != 0 ? 1 : 0;
    best[i] = 0;
  }
  std::array<std::uint32_t, kMaxEntries / SegmentArena::kEntries> segs;
  std::uint32_t ns = 0;
  for (std::uint32_t s = h.tail; s != kNoHandle; s = segments_.at(s).prev) segs[ns++] = s;
  std::reverse(segs.begin(), segs.begin() + ns);
  const std::uint32_t keep = (m + SegmentArena::kEntries - 1) / SegmentArena::kEntries;
  for (std::uint32_t k = 0; k < m; ++k) {
    segments_.at(segs[k / SegmentArena::kEntries]).entry[k % SegmentArena::kEntries] = buf[k];
  }
  if (keep < ns) {
    segments_.at(segs[keep]).prev = kNoHandle;
    segments_.free_chain(segs[ns - 1]);
  }
  h.tail = segs[keep - 1];
  h.size = static_cast<std::uint16_t>(m);
  h.unique = static_cast<std::uint16_t>(m);
  store(c, h);
}

HyperLogLog& SketchPools::hll_promote(Cell* c) {
  const auto h = load<DistinctHead>(c);
  const std::uint32_t k = acquire_hll();
  HyperLogLog& o = hll_[k];
  Entries buf;
  RegisterMap best;
  const std::uint32_t n = hll_best(h, buf, best);
  if (n > hll_small_limit_ / 2) {
    o.merge_registers(best.data());  // the full sketch would not stay sparse
  } else {
    const std::uint32_t mask = (1U << hll_shift_) - 1;
    for (std::uint32_t i = 0; i < n; ++i) {
      o.add_register({static_cast<std::uint32_t>(buf[i] >> hll_shift_), static_cast<std::uint8_t>(buf[i] & mask)});
    }
  }
  segments_.free_chain(h.tail);
  DistinctHead p;
  p.tail = k;
  p.size = kPromoted;
  store(c, p);
  return o;
}

void SketchPools::hll_merge(Cell* dst, const Cell* src, const SketchPools& src_pools) {
  const auto s = load<DistinctHead>(src);
  if (s.size == kPromoted) {
    if (load<DistinctHead>(dst).size != kPromoted) hll_promote(dst);
    hll_[load<DistinctHead>(dst).tail].merge(src_pools.hll_[s.tail]);
    return;
  }
  Entries buf;
  const std::uint32_t n = src_pools.gather(s.tail, s.size, buf);
  const std::uint32_t mask = (1U << hll_shift_) - 1;
  for (std::uint32_t k = 0; k < n; ++k) {
    hll_insert_slow(dst, {static_cast<std::uint32_t>(buf[k] >> hll_shift_), static_cast<std::uint8_t>(buf[k] & mask)});
  }
}

void SketchPools::hll_registers(const Cell* c, std::vector<HyperLogLog::Register>& out) const {
  out.clear();
  const auto h = load<DistinctHead>(c);
  if (h.size == kPromoted) {
    const HyperLogLog& o = hll_[h.tail];
    if (o.dense()) {
      const auto& regs = o.registers();
      for (std::uint32_t i = 0; i < regs.size(); ++i) {
        if (regs[i] != 0) out.push_back({i, regs[i]});
      }
    } else {
      for (const auto e : o.sparse_entries()) out.push_back({e >> 8, static_cast<std::uint8_t>(e & 0xffU)});
      std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
    }
    return;
  }
  Entries buf;
  RegisterMap best;
  hll_best(h, buf, best);
  for (std::uint32_t i = 0; i < (1U << hll_precision_); ++i) {
    if (best[i] != 0) out.push_back({i, best[i]});
  }
}

double SketchPools::hll_estimate(const Cell* c) const {
  const auto h = load<DistinctHead>(c);
  if (h.size == kPromoted) return hll_[h.tail].estimate();
  Entries buf;
  RegisterMap best;
  const std::uint32_t n = hll_best(h, buf, best);
  HyperLogLog::Histogram hist{};
  std::uint32_t unique = 0;
  for (std::uint32_t k = 0; k < n; ++k) {
    auto& b = best[buf[k] >> hll_shift_];  // counted once: cleared after the first entry of its register
    hist[b] += 1;
    unique += b != 0 ? 1 : 0;
    b = 0;
  }
  hist[0] = static_cast<double>(1U << hll_precision_) - unique;
  return HyperLogLog::estimate(hll_precision_, hist);
}

// Snapshot form: u64 n, n x u32 (register << 8 | rank) ascending, u64 m, m
// register bytes; registers (m = 2^p) only when more than the compact limit are set.
void SketchPools::hll_write(ByteWriter& w, const Cell* c) const {
  std::vector<HyperLogLog::Register> regs;
  hll_registers(c, regs);
  if (regs.size() <= hll_small_limit_) {
    w.u64(regs.size());
    for (const auto& r : regs) w.u32((r.index << 8) | r.rank);
    w.u64(0);
    return;
  }
  w.u64(0);
  std::vector<std::uint8_t> dense(std::size_t{1} << hll_precision_, 0);
  for (const auto& r : regs) dense[r.index] = r.rank;
  w.u64(dense.size());
  for (const auto v : dense) w.u8(v);
}

bool SketchPools::hll_read(ByteReader& r, Cell* c) {
  const std::uint32_t m = 1U << hll_precision_;
  const auto max_rank = static_cast<std::uint32_t>(HyperLogLog::max_rank(hll_precision_));
  std::vector<HyperLogLog::Register> regs(r.count(4));
  for (auto& x : regs) {
    const std::uint32_t e = r.u32();
    x = {e >> 8, static_cast<std::uint8_t>(e & 0xffU)};
  }
  std::vector<std::uint8_t> dense(r.count(1));
  for (auto& x : dense) x = r.u8();
  if (!r.ok() || (!dense.empty() && (dense.size() != m || !regs.empty()))) return false;
  for (std::size_t k = 0; k < regs.size(); ++k) {
    if (regs[k].index >= m || regs[k].rank == 0 || regs[k].rank > max_rank ||
        (k > 0 && regs[k].index <= regs[k - 1].index)) {
      return false;
    }
  }
  for (const auto x : dense) {
    if (x > max_rank) return false;
  }
  for (const auto& x : regs) hll_insert_slow(c, x);
  if (!dense.empty()) {
    if (load<DistinctHead>(c).size != kPromoted) hll_promote(c);
    return hll_[load<DistinctHead>(c).tail].assign({}, dense);
  }
  return true;
}

}  // namespace ioc::window::detail
