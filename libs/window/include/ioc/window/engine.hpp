#pragma once
/// Engine: the event-time window engine of the aggregator (see window.hpp for the
/// model). One Engine holds any number of views; each view has its own watermark
/// tracker, window state and emission state.
///
/// Call pattern (one thread):
///   auto engine = Engine::create(specs);           // validates, Result
///   engine->assign_partition(p) / revoke_partition(p) on rebalance
///   for each decoded record: engine->add(view, event[, &placement])  // never throws, no I/O
///   after each poll batch:   for (auto& r : engine->advance(now_ms)) publish(r);
///   checkpoint:              bytes = engine->snapshot(); store with the input offsets
///   restart/rebalance:       engine->restore(bytes) / engine->restore_matching(bytes)
///
/// Determinism: results, their order and their revisions depend only on the
/// sequence of calls (add/advance/assign/revoke/restore) and their arguments.
///
/// Thread-safety: not thread-safe. One thread owns an Engine (the aggregator's
/// poll thread); const methods may run concurrently with each other only.
/// Nothing here blocks, reads a clock or does I/O.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ioc/core/result.hpp"
#include "ioc/window/event.hpp"
#include "ioc/window/result.hpp"
#include "ioc/window/spec.hpp"
#include "ioc/window/watermark.hpp"

namespace ioc::window {

namespace detail {
struct View;
}

/// The key-windows add() aggregated one accepted event into.
///   tumbling/hopping: exactly the windows containing the event that are not
///     closed yet (windows already final do not take it);
///   sliding: the windows the key's accepted events define so far that contain
///     the event (later events of the key may define more); `last_end_ms` is
///     the bound t + size + 1 that every window ever holding the event stays
///     within;
///   session: the one session holding the event after any merge; a session
///     grows when later events extend it, so its end may move later.
/// Close rule: a window closes (final result, state purged) at the first
/// advance() whose watermark reaches end + allowed_lateness; so once the
/// view's watermark(view) >= last_end_ms + allowed_lateness, no window that
/// holds the event can emit again (for sessions: unless the session grew).
struct Placement {
  std::uint32_t windows = 0;       // number of key-windows
  std::int64_t first_start_ms = 0;  // earliest start among them
  std::int64_t last_end_ms = 0;     // latest end among them (sliding: the bound above)
  bool sampled = false;             // event.record_ref kept as evidence in its window(s)
  friend bool operator==(const Placement&, const Placement&) = default;
};

/// Counters and state size of one view.
struct ViewStats {
  std::uint64_t open_windows = 0;   // open key-windows holding data
  std::uint64_t state_bytes = 0;    // bytes held by window state, sketches and emission state
  std::uint64_t last_final_bytes = 0;  // the last-final cache for queries (not window state)
  std::uint64_t accepted_events = 0;
  std::uint64_t late_events = 0;       // EventOutcome::kLate: beyond the allowed lateness
  std::uint64_t rejected_events = 0;   // EventOutcome::kRejected: time out of range, non-finite value
  std::uint64_t emitted_results = 0;
  std::uint64_t final_results = 0;
  std::int64_t watermark_ms = 0;
  std::uint64_t partitions = 0;         // assigned
  std::uint64_t active_partitions = 0;  // assigned and not idle
  /// state_bytes / open_windows (0 when nothing is open).
  double bytes_per_open_window() const {
    return open_windows == 0 ? 0.0 : static_cast<double>(state_bytes) / static_cast<double>(open_windows);
  }
};

class Engine {
 public:
  /// Snapshot format version written by snapshot(); restore() also reads
  /// version 3 (without the early-result clock) and version 2 (into the
  /// same views only).
  static constexpr std::uint32_t kSnapshotVersion = 4;

  /// Validates every spec (names must be unique and non-empty).
  static Result<Engine> create(const std::vector<ViewSpec>& views);

  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();

  std::size_t view_count() const;
  const ViewSpec& spec(ViewId view) const;
  std::optional<ViewId> find_view(std::string_view name) const;
  /// Names of WindowResult::values for this view (see value_names()).
  const std::vector<std::string>& value_names(ViewId view) const;

  // ----- partitions (all views)
  /// The partition holds the watermark back from now on (until it idles).
  /// `frontier_ms`: the watermark this partition's windows already reached
  /// elsewhere (e.g. before a restart, resuming from committed offsets): its
  /// events are late against max(watermark, frontier), so windows closed then
  /// are never reopened.
  void assign_partition(std::int32_t partition, std::int64_t frontier_ms = kNoWatermark);
  /// The partition stops holding the watermark back. Window state stays: its
  /// windows close as the remaining partitions advance (snapshot first if the
  /// state moves to another replica).
  void revoke_partition(std::int32_t partition);

  // ----- hot path
  /// Aggregates one event into every window of `view` it belongs to. An event
  /// from an unassigned partition assigns it. Late or invalid events are not
  /// aggregated: the outcome says so, and the caller sets them aside. O(1)
  /// amortized for tumbling/hopping, no allocation in steady state; never throws.
  EventOutcome add(ViewId view, const Event& event);
  /// Same, and for an accepted event fills `*placement` with the windows it
  /// went to (see Placement: callers keeping evidence for a window learn from
  /// it until when the window can still emit, without re-deriving window
  /// bounds). Left as Placement{} for an event not accepted. No allocation;
  /// O(1) but for sliding views: O(distinct times of the key within 2·size).
  EventOutcome add(ViewId view, const Event& event, Placement* placement);

  /// Sets processing time (ms since epoch; never moves back), recomputes every
  /// view's watermark (idle detection), closes windows whose end + lateness the
  /// watermark reached (final results, then purge) and emits rate-limited early
  /// results. Returns this call's results sorted by (view, end, key, start); the
  /// span and the values/samples it points to stay valid until the next call
  /// of any non-const method. `inputs_waiting`: the caller knows records of its
  /// partitions wait unread, so no partition counts as idle (see watermark.hpp).
  std::span<const WindowResult> advance(std::int64_t now_ms, bool inputs_waiting = false);

  // ----- queries (queryable state)
  std::int64_t watermark(ViewId view) const;
  ViewStats stats(ViewId view) const;
  /// Current values of the open windows of one key (revision = last emitted).
  std::vector<WindowValue> query_open(ViewId view, GroupKey key) const;
  /// Keys that currently have open windows, sorted.
  std::vector<GroupKey> open_keys(ViewId view) const;
  /// The last final result emitted for the key (needs keep_last_final).
  std::optional<WindowValue> last_final(ViewId view, GroupKey key) const;

  // ----- snapshots
  /// Versioned binary snapshot of all state: watermarks and partitions, open
  /// windows with their partial aggregates and sketches, revisions and emission
  /// state, last finals and counters.
  /// Layout: "IOCWSNAP" | u32 version | u64 payload size | payload | u32 CRC-32.
  std::vector<std::uint8_t> snapshot() const;
  /// Replaces all state with a snapshot taken from an engine with the same view
  /// specs. On any error (bad magic, unknown version, checksum, truncation,
  /// different specs) returns kDataLoss/kInvalidArgument and leaves this engine
  /// unchanged.
  Status restore(std::span<const std::uint8_t> bytes);
  /// Restores the views of the snapshot that this engine has with the same
  /// name and spec; this engine's other views (added or changed since) start
  /// empty, and the snapshot's views this engine lacks are dropped. Returns,
  /// per view of this engine, whether its state came from the snapshot. On
  /// corrupt data (kDataLoss) the engine is unchanged.
  [[nodiscard]] Result<std::vector<bool>> restore_matching(std::span<const std::uint8_t> bytes);
  /// Forgets processing time (all views), as if the engine had just been
  /// created: the next advance() counts every partition, and every event
  /// added before it, as heard from at that call. For state restored from
  /// another process's snapshot: the time between that snapshot and now,
  /// when no one read the partitions, is no sign that they were quiet.
  /// Watermarks, windows and lateness are unchanged.
  void forget_processing_time();

  struct Impl;  // opaque; public only so that src/ helpers can name it

 private:
  Engine();
  std::unique_ptr<Impl> impl_;
};

}  // namespace ioc::window
