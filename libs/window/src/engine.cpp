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

#include "engine_impl.hpp"

namespace ioc::window {


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

Result<Engine> Engine::create(const std::vector<ViewSpec>& views) {
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

std::span<const WindowResult> Engine::advance(std::int64_t now_ms, bool inputs_waiting) {
  Impl& m = *impl_;
  m.raw.clear();
  m.offsets.clear();
  m.values.clear();
  m.samples.clear();
  for (auto& v : m.views) {
    const std::int64_t wm = v->tracker.advance(now_ms, inputs_waiting);
    EngineSink sink(m, *v, wm, v->tracker.now());
    v->state->close(wm, sink);
    if (v->core.early) v->state->emit_early(v->emit_clock(v->tracker.now()), sink);
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

void Engine::forget_processing_time() {
  for (auto& v : impl_->views) v->tracker.forget_now();
}

}  // namespace ioc::window
