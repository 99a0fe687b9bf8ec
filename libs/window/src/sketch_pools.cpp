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
  constexpr std::uint32_t kPer = SegmentArena::kEntries;
  std::uint32_t at = (size - 1) / kPer * kPer;
  for (std::uint32_t s = tail;;) {
    const auto& seg = segments_.at(s);
    std::memcpy(out.data() + at, seg.entry, sizeof seg.entry);
    s = seg.prev;
    if (s == kNoHandle) break;
    at -= kPer;
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

}  // namespace ioc::window::detail
