#pragma once
/// OffsetTracker: which input offsets may be committed without losing data.
///
/// Window state lives in memory until a window is final. Committing the
/// position of the last record read would, after a crash, skip the records
/// of windows that were still open. The tracker remembers, per partition,
/// the smallest offset feeding each open window (by window end) and commits
/// only up to the smallest one still needed. With the commit it stores the
/// watermark, so that after a restart records of windows that were already
/// final (and published) are recognised and not counted twice.
///
/// Not thread-safe: owned by the poll thread.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ioc::aggregator {

class OffsetTracker {
 public:
  /// A record at `offset` was read; `window_end` is set when it was
  /// aggregated into a window ending then (ms), unset for records that left
  /// no state (dead-lettered, late, replayed).
  void on_record(std::int32_t partition, std::int64_t offset, std::optional<std::int64_t> window_end);

  /// Windows of `partition` ending at or before `closed_before` (its
  /// watermark − lateness) are final and published: their records are no
  /// longer needed.
  void on_windows_closed(std::int32_t partition, std::int64_t closed_before);

  /// The offset to commit for `partition`: the oldest record still needed,
  /// or the position after the last record read; nullopt when nothing was
  /// read since assignment.
  std::optional<std::int64_t> committable(std::int32_t partition) const;

  /// Forgets a partition (revoked).
  void forget(std::int32_t partition);

 private:
  struct PartitionState {
    std::int64_t next_offset = -1;
    std::map<std::int64_t, std::int64_t> min_offset_by_window_end;
  };
  std::map<std::int32_t, PartitionState> partitions_;
};

/// Commit metadata carrying the watermark: "wm=<ms>".
std::string encode_commit_metadata(std::int64_t watermark_ms);
std::optional<std::int64_t> decode_commit_metadata(std::string_view metadata);

}  // namespace ioc::aggregator
