#pragma once
// The Engine's state (its views, with their trackers and window state, and
// the scratch of advance()), shared by engine.cpp and engine_snapshot.cpp.
// Private to the library.

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>

#include <memory>
#include <span>
#include <vector>

#include "codec.hpp"
#include "ioc/window/engine.hpp"
#include "ioc/window/watermark.hpp"
#include "slot.hpp"
#include "view_state.hpp"

namespace ioc::window {
namespace detail {

struct View {
  View(ViewId id, ViewSpec spec)
      : core(id, std::move(spec)),
        tracker(core.spec.out_of_orderness.count(), core.spec.idle_timeout.count()),
        names(value_names(core.spec)) {
    switch (core.spec.window.kind) {
      case WindowKind::kTumbling:
      case WindowKind::kHopping: state = make_aligned_view(core); break;
      case WindowKind::kSliding: state = make_sliding_view(core); break;
      case WindowKind::kSession: state = make_session_view(core); break;
    }
  }

  ViewCore core;
  WatermarkTracker tracker;
  std::unique_ptr<ViewState> state;
  std::vector<std::string> names;
  boost::unordered_flat_map<GroupKey, WindowValue> last_final;
  std::uint64_t accepted = 0;
  std::uint64_t late = 0;
  std::uint64_t rejected = 0;
  std::uint64_t emitted = 0;
  std::uint64_t finals = 0;

  /// The clock early results are spaced by (emit.interval): it moves by the
  /// larger of how far processing time and how far the view's latest event
  /// time moved. Live both move alike; a replay of a day read in a minute
  /// moves event time a day, so the day gets the early results it got live
  /// (and an alerter replaying them sees the same cadence). A quiet view
  /// still emits on processing time. Saved in snapshots (version 4); one
  /// restored from an older snapshot resumes from processing time
  /// (emit_early treats a last emission ahead of it as due).
  std::int64_t emit_clock(std::int64_t now_ms) {
    std::int64_t event = kNoWatermark;
    for (const auto& p : tracker.partitions()) event = std::max(event, p.max_event_ms);
    if (!emit_started) {
      emit_started = true;
      emit_now = now_ms;
    } else {
      const std::int64_t by_events = event != kNoWatermark && emit_event != kNoWatermark ? event - emit_event : 0;
      emit_now += std::max<std::int64_t>({0, now_ms - emit_proc, by_events});
    }
    emit_proc = std::max(emit_proc, now_ms);
    emit_event = std::max(emit_event, event);
    return emit_now;
  }
  bool emit_started = false;
  std::int64_t emit_now = 0;
  std::int64_t emit_proc = 0;
  std::int64_t emit_event = kNoWatermark;
};
}  // namespace detail

struct Engine::Impl {
  struct Offsets {
    std::uint32_t values;
    std::uint32_t samples;
    std::uint32_t sample_count;
  };

  std::vector<std::unique_ptr<detail::View>> views;
  std::vector<WindowResult> raw;
  std::vector<Offsets> offsets;
  std::vector<double> values;
  std::vector<std::uint64_t> samples;
  std::vector<std::uint32_t> order;
  std::vector<WindowResult> out;

  static std::unique_ptr<Impl> from_specs(const std::vector<ViewSpec>& specs) {
    auto impl = std::make_unique<Impl>();
    for (std::size_t i = 0; i < specs.size(); ++i) {
      impl->views.push_back(std::make_unique<detail::View>(static_cast<ViewId>(i), specs[i]));
    }
    return impl;
  }

  std::vector<ViewSpec> specs() const {
    std::vector<ViewSpec> s;
    for (const auto& v : views) s.push_back(v->core.spec);
    return s;
  }

  void write(detail::ByteWriter& w) const;
  static void write_view(detail::ByteWriter& w, const detail::View& v);
  /// `restored[i]`: view i's state came from the snapshot (else it is empty).
  Status read(detail::ByteReader& r, std::uint32_t version, std::vector<bool>& restored);
  static bool read_view(detail::ByteReader& r, detail::View& v, std::uint32_t version);
  static Result<std::unique_ptr<Impl>> parse(const std::vector<ViewSpec>& specs, std::span<const std::uint8_t> bytes,
                                             std::vector<bool>& restored);
};

}  // namespace ioc::window
