#pragma once
/// WatermarkTracker: the event-time clock of one view.
///
/// Partition watermark = max event time seen on that partition − out_of_orderness.
/// Operator watermark = min over assigned partitions that are active (delivered an
/// event within idle_timeout of processing time). Partitions idle longer stop
/// holding it back. When every assigned partition is idle (or none is assigned
/// and nothing arrived for idle_timeout), the watermark follows processing time:
/// max(partition watermarks, now − out_of_orderness), so quiet keys still close.
/// The operator watermark never moves backwards. Event time moves it in
/// observe() (a record's lateness depends only on the records before it);
/// processing time (idleness) only in advance(). Processing time is what
/// advance() was last given;
/// events observed before the first advance() count as seen at that first call.
///
/// A partition restored from another engine's snapshot keeps that engine's
/// watermark as a "frontier": its events are judged late against
/// max(operator watermark, frontier), so windows the old owner already closed are
/// never reopened after a merge.
///
/// Thread-safety: not thread-safe; owned by the thread that feeds the engine.

#include <cstdint>
#include <limits>
#include <vector>

namespace ioc::window {

/// Watermark before any event: below every valid event time.
inline constexpr std::int64_t kNoWatermark = -(std::int64_t{1} << 62);

class WatermarkTracker {
 public:
  struct Partition {
    std::int32_t id = 0;
    std::int64_t max_event_ms = kNoWatermark;   // kNoWatermark: nothing seen yet
    std::int64_t last_event_now_ms = 0;         // processing time of the last event (or assignment)
    std::int64_t frontier_ms = kNoWatermark;
    friend bool operator==(const Partition&, const Partition&) = default;
  };

  /// idle_timeout_ms == 0 disables idleness (and processing-time advance).
  WatermarkTracker(std::int64_t out_of_orderness_ms, std::int64_t idle_timeout_ms);

  /// Raises the partition's lateness frontier to `frontier_ms`.
  void assign(std::int32_t partition, std::int64_t frontier_ms = kNoWatermark);
  /// Forgets the partition: it no longer holds the watermark back.
  void revoke(std::int32_t partition);
  /// Records an event time; an unknown partition is assigned implicitly.
  /// Returns the watermark the event's lateness is judged against.
  std::int64_t observe(std::int32_t partition, std::int64_t event_time_ms);
  /// Moves processing time forward (never back) and recomputes the watermark.
  std::int64_t advance(std::int64_t now_ms);
  /// Forgets processing time: the next advance() counts as the first, so the
  /// partitions, and the events observed before it, count as heard from then.
  void forget_now() { now_known_ = false; }

  std::int64_t watermark() const { return watermark_; }
  std::int64_t now() const { return now_; }
  bool now_known() const { return now_known_; }
  const std::vector<Partition>& partitions() const { return partitions_; }
  /// Number of assigned partitions currently holding the watermark (not idle).
  std::size_t active_partitions() const;

  /// Snapshot support.
  struct State {
    std::vector<Partition> partitions;
    std::int64_t watermark = kNoWatermark;
    std::int64_t now = 0;
    bool now_known = false;
    std::int64_t last_any_event_now = 0;
  };
  State state() const;
  void set_state(State s);

 private:
  Partition& find_or_add(std::int32_t partition);
  bool is_active(const Partition& p) const;

  std::int64_t out_of_orderness_;
  std::int64_t idle_timeout_;
  std::vector<Partition> partitions_;  // sorted by id
  std::size_t cached_ = 0;
  std::int64_t watermark_ = kNoWatermark;
  std::int64_t now_ = 0;
  bool now_known_ = false;
  std::int64_t last_any_event_now_ = 0;
};

}  // namespace ioc::window
