#pragma once
/// OffsetTracker: which input offsets may be committed without losing data,
/// and which records never arrived.
///
/// Window state lives in memory until a window is final. Committing the
/// position of the last record read would, after a crash, skip the records
/// of windows that were still open. The tracker remembers, per partition,
/// the smallest offset feeding each open window (by window end) and commits
/// only up to the smallest one still needed.
///
/// With each commit goes a CommitMark: the watermark then, and the position
/// read up to. After a restart, records below that position are input read
/// a second time (those of windows already final are skipped, the others
/// recomputed), while records at or past it are new input, judged late
/// against the restored watermark like any other.
///
/// The tracker also knows the offset it expects next. A record past it
/// means the records between were removed (retention, or an offset reset
/// after it): the caller counts them as pruned.
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
  /// The partition's reading starts at `offset` (its committed offset, or
  /// the log start for a partition the group never committed): that offset
  /// is committable at once, so the group's progress is recorded on the
  /// broker even before the first record arrives.
  void start(std::int32_t partition, std::int64_t offset);

  /// What a record at `offset` says about the records before it.
  struct Continuity {
    std::int64_t skipped = 0;  // offsets between the expected one and this one
    bool went_back = false;    // older than expected: the log was replaced (e.g. an in-memory broker restarted)
  };
  /// Call before on_record(). A partition whose log went back is reset:
  /// its reading restarts at `offset`.
  Continuity check(std::int32_t partition, std::int64_t offset);

  /// A record at `offset` was read; `window_end` is set when it was
  /// aggregated into a window ending then (ms), unset for records that left
  /// no state (dead-lettered, late, replayed).
  void on_record(std::int32_t partition, std::int64_t offset, std::optional<std::int64_t> window_end);

  /// Windows of `partition` ending at or before `closed_before` (its
  /// watermark − lateness) are final and published: their records are no
  /// longer needed.
  void on_windows_closed(std::int32_t partition, std::int64_t closed_before);

  /// The offset to commit for `partition`: the oldest record still needed,
  /// or the next offset to read; nullopt when the position is unknown.
  std::optional<std::int64_t> committable(std::int32_t partition) const;
  /// The next offset to read (−1 when unknown).
  std::int64_t next_offset(std::int32_t partition) const;

  /// Forgets a partition (revoked).
  void forget(std::int32_t partition);

 private:
  struct PartitionState {
    std::int64_t next_offset = -1;
    std::map<std::int64_t, std::int64_t> min_offset_by_window_end;
  };
  std::map<std::int32_t, PartitionState> partitions_;
};

/// Stored as commit metadata: "wm=<ms>;read=<offset>".
struct CommitMark {
  std::optional<std::int64_t> watermark_ms;  // windows ending (plus lateness) before it were final
  std::optional<std::int64_t> read_offset;   // every record below it had been processed
  friend bool operator==(const CommitMark&, const CommitMark&) = default;
};
std::string encode_commit_metadata(const CommitMark& mark);
/// Unknown or malformed fields are left unset (older "wm=<ms>" marks have no read offset).
CommitMark decode_commit_metadata(std::string_view metadata);

}  // namespace ioc::aggregator
