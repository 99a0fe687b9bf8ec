#pragma once
// Per-view window state. Three implementations share one interface:
//   aligned (tumbling, hopping): per-pane tables key -> slot; a window is the
//     merge of its size/gcd(size, advance) panes, so an event touches one slot
//     whatever the overlap;
//   sliding: per key, one slot per distinct event time; windows are assembled
//     from the slots they cover when emitted;
//   session: per key, a sorted list of sessions, merged when an event bridges.
// Lateness rules (lwm = watermark the event is judged against, L = lateness):
//   aligned: late iff the last window containing t has end + L <= lwm;
//   sliding/session: late iff t + L < lwm. With these rules no accepted event
//   ever touches a closed window, so a final result is never contradicted.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "codec.hpp"
#include "ioc/window/engine.hpp"
#include "ioc/window/spec.hpp"
#include "slot.hpp"

namespace ioc::window::detail {

/// The keys of a per-key state map in ascending order: snapshots write keys
/// in this order so that equal states give equal bytes.
template <typename Map>
std::vector<GroupKey> sorted_keys(const Map& keys) {
  std::vector<GroupKey> order;
  order.reserve(keys.size());
  for (const auto& kv : keys) order.push_back(kv.first);
  std::sort(order.begin(), order.end());
  return order;
}

inline constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max() / 4;
inline constexpr std::int64_t kLongAgo = -(std::numeric_limits<std::int64_t>::max() / 4);

inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b) < 0) --q;
  return q;
}

struct ViewCore {
  explicit ViewCore(ViewId view_id, ViewSpec view_spec)
      : id(view_id),
        spec(std::move(view_spec)),
        layout(spec),
        pools(spec.hll_precision, spec.quantile_accuracy, spec.quantile_max_buckets),
        lateness(spec.allowed_lateness.count()),
        early(spec.emit.mode != EmitMode::kFinalOnly),
        flush_only_changed(spec.emit.mode == EmitMode::kOnUpdate),
        min_interval(spec.emit.min_interval.count()) {}

  ViewId id;
  ViewSpec spec;
  bool want_placement = false;  // the current add() reports where the event went
  Placement placement;         // filled by an accepted add() when want_placement
  Layout layout;
  mutable SketchPools pools;  // queries (const) merge into temporary slots
  std::int64_t lateness;
  bool early;               // early results (kOnUpdate, kBoth)
  bool flush_only_changed;  // kOnUpdate: at close emit only if changed since the last early result
  std::int64_t min_interval;
};

/// Receives results from a view; the engine turns them into WindowResults.
class Sink {
 public:
  virtual ~Sink() = default;
  /// closing: the window is being closed (last result of this key-window).
  virtual void emit(GroupKey key, std::int64_t start, std::int64_t end, std::uint32_t revision, bool closing,
                    const Cell* slot) = 0;
};

class ViewState {
 public:
  virtual ~ViewState() = default;
  /// Hot path. False: late (nothing changed).
  virtual bool add(const Event& e, std::int64_t lateness_watermark) = 0;
  /// Emits and purges every window with end + lateness <= watermark.
  virtual void close(std::int64_t watermark, Sink& sink) = 0;
  /// Early results of changed open windows, rate-limited per key.
  virtual void emit_early(std::int64_t now, Sink& sink) = 0;
  virtual void query_open(GroupKey key, std::vector<WindowValue>& out) const = 0;
  virtual void open_keys(std::vector<GroupKey>& out) const = 0;
  /// Fills open_windows and state_bytes (without the sketch pools).
  virtual void stats(ViewStats& s) const = 0;
  virtual void write(ByteWriter& w) const = 0;
  /// Reads into an empty state; false on malformed input.
  virtual bool read(ByteReader& r) = 0;
};

std::unique_ptr<ViewState> make_aligned_view(ViewCore& core);
std::unique_ptr<ViewState> make_sliding_view(ViewCore& core);
std::unique_ptr<ViewState> make_session_view(ViewCore& core);

/// Fills a WindowValue from a slot (queries).
inline WindowValue make_value(const ViewCore& core, GroupKey key, std::int64_t start, std::int64_t end,
                              std::uint32_t revision, const Cell* slot) {
  WindowValue v;
  v.key = key;
  v.start_ms = start;
  v.end_ms = end;
  v.revision = revision;
  v.final = false;
  v.count = Layout::count(slot);
  v.values.resize(core.layout.value_count());
  core.layout.finalize(slot, core.pools, v.values.data());
  const Cell* s = core.layout.samples(slot);
  for (std::uint32_t k = 0; k < Layout::sample_count(slot); ++k) v.samples.push_back(s[k].u);
  return v;
}

/// One temporary slot (merge target), reusing its cells and sketches.
class TempSlot {
 public:
  explicit TempSlot(const ViewCore& core) : cells_(core.layout.stride()) {}
  Cell* reset(const ViewCore& core) {
    if (live_) core.layout.release(cells_.data(), core.pools);
    core.layout.init(cells_.data(), core.pools);
    live_ = true;
    return cells_.data();
  }
  void release(const ViewCore& core) {
    if (live_) core.layout.release(cells_.data(), core.pools);
    live_ = false;
  }
  Cell* get() { return cells_.data(); }
  std::size_t bytes() const { return cells_.capacity() * sizeof(Cell); }

 private:
  std::vector<Cell> cells_;
  bool live_ = false;
};

}  // namespace ioc::window::detail
