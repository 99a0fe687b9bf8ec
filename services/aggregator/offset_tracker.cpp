#include "offset_tracker.hpp"

#include <charconv>
#include <string>

namespace ioc::aggregator {

void OffsetTracker::start(std::int32_t partition, std::int64_t offset) {
  PartitionState& p = partitions_[partition];
  if (p.next_offset < 0) p.next_offset = offset;
}

OffsetTracker::Continuity OffsetTracker::check(std::int32_t partition, std::int64_t offset) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end() || it->second.next_offset < 0) return {};
  const std::int64_t expected = it->second.next_offset;
  if (offset > expected) return {offset - expected, false};
  if (offset < expected) {
    it->second = PartitionState{};
    return {0, true};
  }
  return {};
}

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

std::int64_t OffsetTracker::next_offset(std::int32_t partition) const {
  auto it = partitions_.find(partition);
  return it == partitions_.end() ? -1 : it->second.next_offset;
}

void OffsetTracker::forget(std::int32_t partition) { partitions_.erase(partition); }

std::string encode_commit_metadata(const CommitMark& mark) {
  std::string out;
  if (mark.watermark_ms) out += "wm=" + std::to_string(*mark.watermark_ms);
  if (mark.read_offset) out += (out.empty() ? "read=" : ";read=") + std::to_string(*mark.read_offset);
  return out;
}

CommitMark decode_commit_metadata(std::string_view metadata) {
  CommitMark mark;
  while (!metadata.empty()) {
    const auto semi = metadata.find(';');
    const std::string_view field = metadata.substr(0, semi);
    metadata = semi == std::string_view::npos ? std::string_view{} : metadata.substr(semi + 1);
    const auto eq = field.find('=');
    if (eq == std::string_view::npos) continue;
    std::int64_t v = 0;
    const char* begin = field.data() + eq + 1;
    const char* end = field.data() + field.size();
    auto [p, ec] = std::from_chars(begin, end, v);
    if (ec != std::errc() || p != end || begin == end) continue;
    const std::string_view name = field.substr(0, eq);
    if (name == "wm") mark.watermark_ms = v;
    if (name == "read" && v >= 0) mark.read_offset = v;
  }
  return mark;
}

}  // namespace ioc::aggregator
