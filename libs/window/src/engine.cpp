#include "ioc/window/engine.hpp"

#include <algorithm>
#include <array>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cmath>
#include <cstring>
#include <numeric>
#include <set>

#include "codec.hpp"
#include "ioc/core/check.hpp"
#include "ioc/core/hash.hpp"
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
};

namespace {

constexpr std::array<char, 8> kMagic{'I', 'O', 'C', 'W', 'S', 'N', 'A', 'P'};
constexpr std::size_t kHeaderBytes = 8 + 4 + 8;

void write_spec(ByteWriter& w, const ViewSpec& s) {
  w.str(s.name);
  w.u8(static_cast<std::uint8_t>(s.window.kind));
  w.i64(s.window.size.count());
  w.i64(s.window.advance.count());
  w.i64(s.window.gap.count());
  w.u64(s.aggregations.size());
  for (const auto& a : s.aggregations) {
    w.str(a.name);
    w.u8(static_cast<std::uint8_t>(a.kind));
    w.i32(a.field);
    w.i32(a.match);
    w.u64(a.quantiles.size());
    for (const double q : a.quantiles) w.f64(q);
  }
  w.i64(s.allowed_lateness.count());
  w.i64(s.out_of_orderness.count());
  w.i64(s.idle_timeout.count());
  w.u8(static_cast<std::uint8_t>(s.emit.mode));
  w.i64(s.emit.min_interval.count());
  w.u32(s.sample_refs);
  w.i32(s.hll_precision);
  w.f64(s.quantile_accuracy);
  w.u32(s.quantile_max_buckets);
  w.u8(s.keep_last_final ? 1 : 0);
}

// Snapshot version 2 did not know ViewSpec::input: its views are compared
// without it (their input was the same, or the old engine did not notice).
std::uint64_t fingerprint(const ViewSpec& s, bool with_input = true) {
  std::vector<std::uint8_t> bytes;
  ByteWriter w(bytes);
  write_spec(w, s);
  if (with_input && s.input != 0) w.u64(s.input);
  return fnv1a(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace
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
  static bool read_view(detail::ByteReader& r, detail::View& v);
  static Result<std::unique_ptr<Impl>> parse(const std::vector<ViewSpec>& specs, std::span<const std::uint8_t> bytes,
                                             std::vector<bool>& restored);
};

namespace {

class EngineSink final : public detail::Sink {
 public:
  EngineSink(Engine::Impl& impl, detail::View& view, std::int64_t watermark, std::int64_t now)
      : impl_(impl), view_(view), watermark_(watermark), now_(now) {}

  void emit(GroupKey key, std::int64_t start, std::int64_t end, std::uint32_t revision, bool closing,
            const detail::Cell* slot) override {
    const auto& layout = view_.core.layout;
    WindowResult r;
    r.view = view_.core.id;
    r.key = key;
    r.start_ms = start;
    r.end_ms = end;
    r.revision = revision;
    r.final = closing && !view_.core.flush_only_changed;
    r.count = detail::Layout::count(slot);
    r.watermark_ms = watermark_;
    r.emitted_at_ms = now_;
    const auto voff = static_cast<std::uint32_t>(impl_.values.size());
    impl_.values.resize(voff + layout.value_count());
    layout.finalize(slot, view_.core.pools, impl_.values.data() + voff);
    const auto soff = static_cast<std::uint32_t>(impl_.samples.size());
    const std::uint32_t n = detail::Layout::sample_count(slot);
    const detail::Cell* refs = layout.samples(slot);
    for (std::uint32_t k = 0; k < n; ++k) impl_.samples.push_back(refs[k].u);
    impl_.raw.push_back(r);
    impl_.offsets.push_back({voff, soff, n});
    ++view_.emitted;
    if (r.final) ++view_.finals;
    if (closing && view_.core.spec.keep_last_final) {
      auto [it, inserted] = view_.last_final.try_emplace(key);
      WindowValue& lf = it->second;
      if (inserted || end > lf.end_ms || (end == lf.end_ms && start >= lf.start_ms)) {
        lf.key = key;
        lf.start_ms = start;
        lf.end_ms = end;
        lf.revision = revision;
        lf.final = true;
        lf.count = r.count;
        lf.values.assign(impl_.values.begin() + voff, impl_.values.end());
        lf.samples.assign(impl_.samples.begin() + soff, impl_.samples.end());
      }
    }
  }


 private:
  Engine::Impl& impl_;
  detail::View& view_;
  std::int64_t watermark_;
  std::int64_t now_;
};

}  // namespace

Engine::Engine() : impl_(std::make_unique<Impl>()) {}
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;
Engine::~Engine() = default;

Result<Engine> Engine::create(std::vector<ViewSpec> views) {
  std::set<std::string> names;
  for (const auto& v : views) {
    if (auto s = validate(v); !s.ok()) return s.error();
    if (!names.insert(v.name).second) return invalid_argument("view.name \"" + v.name + "\" is used twice");
  }
  Engine e;
  e.impl_ = Impl::from_specs(views);
  return e;
}

std::size_t Engine::view_count() const { return impl_->views.size(); }
const ViewSpec& Engine::spec(ViewId view) const { return impl_->views.at(view)->core.spec; }

std::optional<ViewId> Engine::find_view(std::string_view name) const {
  for (const auto& v : impl_->views) {
    if (v->core.spec.name == name) return v->core.id;
  }
  return std::nullopt;
}

const std::vector<std::string>& Engine::value_names(ViewId view) const { return impl_->views.at(view)->names; }

void Engine::assign_partition(std::int32_t partition, std::int64_t frontier_ms) {
  for (auto& v : impl_->views) v->tracker.assign(partition, frontier_ms);
}

void Engine::revoke_partition(std::int32_t partition) {
  for (auto& v : impl_->views) v->tracker.revoke(partition);
}

EventOutcome Engine::add(ViewId view, const Event& event) { return add(view, event, nullptr); }

EventOutcome Engine::add(ViewId view, const Event& event, Placement* placement) {
  IOC_CHECK_MSG(view < impl_->views.size(), "unknown ViewId");
  detail::View& v = *impl_->views[view];
  if (placement != nullptr) *placement = Placement{};
  v.core.want_placement = placement != nullptr;
  if (event.time_ms < kMinEventTimeMs || event.time_ms > kMaxEventTimeMs) [[unlikely]] {
    ++v.rejected;
    return EventOutcome::kRejected;
  }
  if (v.core.layout.needs_value() && !std::isfinite(event.value)) [[unlikely]] {
    ++v.rejected;
    return EventOutcome::kRejected;
  }
  const std::int64_t lwm = v.tracker.observe(event.partition, event.time_ms);
  if (!v.state->add(event, lwm)) [[unlikely]] {
    ++v.late;
    return EventOutcome::kLate;
  }
  ++v.accepted;
  if (placement != nullptr) *placement = v.core.placement;
  return EventOutcome::kAccepted;
}

std::span<const WindowResult> Engine::advance(std::int64_t now_ms) {
  Impl& m = *impl_;
  m.raw.clear();
  m.offsets.clear();
  m.values.clear();
  m.samples.clear();
  for (auto& v : m.views) {
    const std::int64_t wm = v->tracker.advance(now_ms);
    EngineSink sink(m, *v, wm, v->tracker.now());
    v->state->close(wm, sink);
    if (v->core.early) v->state->emit_early(v->tracker.now(), sink);
  }
  m.order.resize(m.raw.size());
  std::iota(m.order.begin(), m.order.end(), 0U);
  std::sort(m.order.begin(), m.order.end(), [&](std::uint32_t a, std::uint32_t b) {
    const WindowResult& x = m.raw[a];
    const WindowResult& y = m.raw[b];
    if (x.view != y.view) return x.view < y.view;
    if (x.end_ms != y.end_ms) return x.end_ms < y.end_ms;
    if (x.key != y.key) return x.key < y.key;
    return x.start_ms < y.start_ms;
  });
  m.out.resize(m.raw.size());
  for (std::size_t i = 0; i < m.order.size(); ++i) {
    const std::uint32_t k = m.order[i];
    WindowResult r = m.raw[k];
    const auto& o = m.offsets[k];
    r.values = std::span<const double>(m.values.data() + o.values, m.views[r.view]->core.layout.value_count());
    r.samples = std::span<const std::uint64_t>(m.samples.data() + o.samples, o.sample_count);
    m.out[i] = r;
  }
  return m.out;
}


std::int64_t Engine::watermark(ViewId view) const { return impl_->views.at(view)->tracker.watermark(); }

ViewStats Engine::stats(ViewId view) const {
  const detail::View& v = *impl_->views.at(view);
  ViewStats s;
  v.state->stats(s);
  s.state_bytes += v.core.pools.bytes();
  for (const auto& [key, lf] : v.last_final) {
    s.last_final_bytes += sizeof(WindowValue) + lf.values.capacity() * sizeof(double) +
                          lf.samples.capacity() * sizeof(std::uint64_t);
  }
  s.last_final_bytes += v.last_final.bucket_count() * (sizeof(std::pair<GroupKey, WindowValue>) + 1) -
                        v.last_final.size() * sizeof(WindowValue);
  s.accepted_events = v.accepted;
  s.late_events = v.late;
  s.rejected_events = v.rejected;
  s.emitted_results = v.emitted;
  s.final_results = v.finals;
  s.watermark_ms = v.tracker.watermark();
  s.partitions = v.tracker.partitions().size();
  s.active_partitions = v.tracker.active_partitions();
  return s;
}

std::vector<WindowValue> Engine::query_open(ViewId view, GroupKey key) const {
  std::vector<WindowValue> out;
  impl_->views.at(view)->state->query_open(key, out);
  std::sort(out.begin(), out.end(), [](const WindowValue& a, const WindowValue& b) {
    return a.end_ms != b.end_ms ? a.end_ms < b.end_ms : a.start_ms < b.start_ms;
  });
  return out;
}

std::vector<GroupKey> Engine::open_keys(ViewId view) const {
  std::vector<GroupKey> out;
  impl_->views.at(view)->state->open_keys(out);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<WindowValue> Engine::last_final(ViewId view, GroupKey key) const {
  const auto& lf = impl_->views.at(view)->last_final;
  auto it = lf.find(key);
  if (it == lf.end()) return std::nullopt;
  return it->second;
}

// ------------------------------------------------------------------ snapshots

// Version 3 payload: u32 view count, then per view its name, its spec's
// fingerprint and its state as one length-prefixed section, so that a
// restore can skip the sections of views that changed or went away.
// Version 2 had no section lengths: it restores only into the same views.

void Engine::Impl::write(detail::ByteWriter& w) const {
  w.u32(static_cast<std::uint32_t>(views.size()));
  std::vector<std::uint8_t> section;
  for (const auto& v : views) {
    w.str(v->core.spec.name);
    w.u64(detail::fingerprint(v->core.spec));
    section.clear();
    detail::ByteWriter sw(section);
    write_view(sw, *v);
    w.str(std::string_view(reinterpret_cast<const char*>(section.data()), section.size()));
  }
}

void Engine::Impl::write_view(detail::ByteWriter& w, const detail::View& v) {
  const auto t = v.tracker.state();
  w.u64(t.partitions.size());
  for (const auto& p : t.partitions) {
    w.i32(p.id);
    w.i64(p.max_event_ms);
    w.i64(p.last_event_now_ms);
    w.i64(p.frontier_ms);
  }
  w.i64(t.watermark);
  w.i64(t.now);
  w.u8(t.now_known ? 1 : 0);
  w.i64(t.last_any_event_now);
  for (const auto c : {v.accepted, v.late, v.rejected, v.emitted, v.finals}) w.u64(c);
  v.state->write(w);
  std::vector<GroupKey> keys;
  for (const auto& kv : v.last_final) keys.push_back(kv.first);
  std::sort(keys.begin(), keys.end());
  w.u64(keys.size());
  for (const GroupKey key : keys) {
    const WindowValue& lf = v.last_final.find(key)->second;
    w.u64(key);
    w.i64(lf.start_ms);
    w.i64(lf.end_ms);
    w.u32(lf.revision);
    w.i64(lf.count);
    w.u64(lf.values.size());
    for (const double x : lf.values) w.f64(x);
    w.u64(lf.samples.size());
    for (const auto x : lf.samples) w.u64(x);
  }
}

bool Engine::Impl::read_view(detail::ByteReader& r, detail::View& v) {
  WatermarkTracker::State t;
  const std::uint64_t np = r.count(28);
  for (std::uint64_t i = 0; i < np && r.ok(); ++i) {
    WatermarkTracker::Partition p;
    p.id = r.i32();
    p.max_event_ms = r.i64();
    p.last_event_now_ms = r.i64();
    p.frontier_ms = r.i64();
    t.partitions.push_back(p);
  }
  t.watermark = r.i64();
  t.now = r.i64();
  t.now_known = r.u8() != 0;
  t.last_any_event_now = r.i64();
  v.tracker.set_state(std::move(t));
  v.accepted = r.u64();
  v.late = r.u64();
  v.rejected = r.u64();
  v.emitted = r.u64();
  v.finals = r.u64();
  if (!r.ok() || !v.state->read(r)) return false;
  const std::uint64_t nlf = r.count(44);
  for (std::uint64_t i = 0; i < nlf && r.ok(); ++i) {
    WindowValue lf;
    lf.key = r.u64();
    lf.start_ms = r.i64();
    lf.end_ms = r.i64();
    lf.revision = r.u32();
    lf.final = true;
    lf.count = r.i64();
    lf.values.resize(r.count(8));
    for (auto& x : lf.values) x = r.f64();
    lf.samples.resize(r.count(8));
    for (auto& x : lf.samples) x = r.u64();
    if (lf.values.size() != v.core.layout.value_count()) r.fail();
    v.last_final[lf.key] = std::move(lf);
  }
  return r.ok();
}

Status Engine::Impl::read(detail::ByteReader& r, std::uint32_t version, std::vector<bool>& restored) {
  restored.assign(views.size(), false);
  const std::uint32_t n = r.u32();
  if (!r.ok()) return data_loss("snapshot payload is malformed or truncated");
  if (version == 2 && n != views.size()) {
    return invalid_argument("snapshot has " + std::to_string(n) + " views, this engine has " +
                            std::to_string(views.size()));
  }
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    const std::string name = r.str();
    const std::uint64_t fp = r.u64();
    if (!r.ok()) break;
    const auto it = std::find_if(views.begin(), views.end(), [&](const auto& v) { return v->core.spec.name == name; });
    const bool same = it != views.end() && fp == detail::fingerprint((*it)->core.spec, version != 2);
    if (version == 2) {
      // No section lengths: a view that does not match cannot be skipped.
      if (!same || it - views.begin() != i) {
        return invalid_argument("snapshot view \"" + name + "\" does not match this engine's view \"" +
                                views[i]->core.spec.name + "\" (different spec)");
      }
      if (!read_view(r, **it)) break;
      restored[i] = true;
      continue;
    }
    const std::string_view section = r.view();
    if (!r.ok()) break;
    if (!same) continue;  // a changed or removed view: its windows start empty
    const auto at = static_cast<std::size_t>(it - views.begin());
    if (restored[at]) return data_loss("snapshot holds view \"" + name + "\" twice");
    detail::ByteReader vr(section);
    if (!read_view(vr, **it) || vr.remaining() != 0) return data_loss("snapshot of view \"" + name + "\" is malformed");
    restored[at] = true;
  }
  if (!r.ok()) return data_loss("snapshot payload is malformed or truncated");
  if (r.remaining() != 0) return data_loss("snapshot payload has " + std::to_string(r.remaining()) + " trailing bytes");
  return {};
}

Result<std::unique_ptr<Engine::Impl>> Engine::Impl::parse(const std::vector<ViewSpec>& specs,
                                                          std::span<const std::uint8_t> bytes,
                                                          std::vector<bool>& restored) {
  if (bytes.size() < detail::kHeaderBytes + 4) {
    return data_loss("snapshot is " + std::to_string(bytes.size()) + " bytes, shorter than its header");
  }
  if (std::memcmp(bytes.data(), detail::kMagic.data(), detail::kMagic.size()) != 0) {
    return data_loss("not a window engine snapshot (bad magic)");
  }
  detail::ByteReader header(bytes.subspan(8, 12));
  const std::uint32_t version = header.u32();
  const std::uint64_t size = header.u64();
  if (version != kSnapshotVersion && version != 2) {
    return data_loss("snapshot version " + std::to_string(version) + " is not supported (this build reads versions 2 and " +
                     std::to_string(kSnapshotVersion) + ")");
  }
  if (size != bytes.size() - detail::kHeaderBytes - 4) {
    return data_loss("snapshot size mismatch: header says " + std::to_string(size) + " payload bytes, got " +
                     std::to_string(bytes.size() - detail::kHeaderBytes - 4));
  }
  const auto payload = bytes.subspan(detail::kHeaderBytes, size);
  detail::ByteReader trailer(bytes.subspan(detail::kHeaderBytes + size, 4));
  if (trailer.u32() != ioc::crc32(payload)) return data_loss("snapshot checksum mismatch (corrupt data)");
  auto impl = from_specs(specs);
  detail::ByteReader r(payload);
  if (auto s = impl->read(r, version, restored); !s.ok()) return s.error();
  return impl;
}

std::vector<std::uint8_t> Engine::snapshot() const {
  std::vector<std::uint8_t> out(detail::kMagic.begin(), detail::kMagic.end());
  detail::ByteWriter w(out);
  w.u32(kSnapshotVersion);
  w.u64(0);  // payload size, patched below
  impl_->write(w);
  const std::uint64_t size = out.size() - detail::kHeaderBytes;
  std::memcpy(out.data() + 12, &size, sizeof(size));
  w.u32(ioc::crc32(std::span<const std::uint8_t>(out).subspan(detail::kHeaderBytes, size)));
  return out;
}

Status Engine::restore(std::span<const std::uint8_t> bytes) {
  std::vector<bool> restored;
  auto parsed = Impl::parse(impl_->specs(), bytes, restored);
  if (!parsed.ok()) return parsed.error();
  for (std::size_t i = 0; i < restored.size(); ++i) {
    if (!restored[i]) {
      return invalid_argument("snapshot view \"" + impl_->views[i]->core.spec.name +
                              "\" is missing or has a different spec");
    }
  }
  impl_ = std::move(parsed.value());
  return {};
}

Result<std::vector<bool>> Engine::restore_matching(std::span<const std::uint8_t> bytes) {
  std::vector<bool> restored;
  auto parsed = Impl::parse(impl_->specs(), bytes, restored);
  if (!parsed.ok()) return parsed.error();
  impl_ = std::move(parsed.value());
  return restored;
}

void Engine::forget_processing_time() {
  for (auto& v : impl_->views) v->tracker.forget_now();
}

}  // namespace ioc::window
