// SketchPools, distinct: the logs of HyperLogLog registers, their compaction
// and promotion to full sketches, estimates and snapshots (see sketch_pools.hpp).
#include "sketch_pools.hpp"

#include <algorithm>
#include <bit>
#include <functional>
#include <limits>
#include <utility>

namespace ioc::window::detail {

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
