#include "offset_tracker.hpp"

#include <charconv>
#include <string>

namespace ioc::aggregator {

void OffsetTracker::on_record(std::int32_t partition, std::int64_t offset, std::optional<std::int64_t> window_end) {
  PartitionState& p = partitions_[partition];
  p.next_offset = std::max(p.next_offset, offset + 1);
  if (window_end) {
    auto [it, inserted] = p.min_offset_by_window_end.emplace(*window_end, offset);
    if (!inserted) it->second = std::min(it->second, offset);
  }
}

void OffsetTracker::on_windows_closed(std::int32_t partition, std::int64_t closed_before) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return;
  auto& m = it->second.min_offset_by_window_end;
  m.erase(m.begin(), m.upper_bound(closed_before));
}

std::optional<std::int64_t> OffsetTracker::committable(std::int32_t partition) const {
  auto it = partitions_.find(partition);
  if (it == partitions_.end() || it->second.next_offset < 0) return std::nullopt;
  std::int64_t offset = it->second.next_offset;
  for (const auto& [end, min_offset] : it->second.min_offset_by_window_end) offset = std::min(offset, min_offset);
  return offset;
}

void OffsetTracker::forget(std::int32_t partition) { partitions_.erase(partition); }

std::string encode_commit_metadata(std::int64_t watermark_ms) { return "wm=" + std::to_string(watermark_ms); }

std::optional<std::int64_t> decode_commit_metadata(std::string_view metadata) {
  if (!metadata.starts_with("wm=")) return std::nullopt;
  std::int64_t v = 0;
  const char* begin = metadata.data() + 3;
  const char* end = metadata.data() + metadata.size();
  auto [p, ec] = std::from_chars(begin, end, v);
  if (ec != std::errc() || p != end) return std::nullopt;
  return v;
}

}  // namespace ioc::aggregator
