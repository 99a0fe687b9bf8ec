// Engine, snapshots: versioned, checksummed bytes of every view's state,
// and restoring them (all views, or those whose spec is unchanged).
#include <cstring>

#include "engine_impl.hpp"
#include "ioc/core/check.hpp"
#include "ioc/core/hash.hpp"

namespace ioc::window {
namespace detail {

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
  // Version 4: the clock early results are spaced by.
  w.u8(v.emit_started ? 1 : 0);
  w.i64(v.emit_now);
  w.i64(v.emit_proc);
  w.i64(v.emit_event);
}

bool Engine::Impl::read_view(detail::ByteReader& r, detail::View& v, std::uint32_t version) {
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
  if (version >= 4) {
    v.emit_started = r.u8() != 0;
    v.emit_now = r.i64();
    v.emit_proc = r.i64();
    v.emit_event = r.i64();
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
      if (!read_view(r, **it, version)) break;
      restored[i] = true;
      continue;
    }
    const std::string_view section = r.view();
    if (!r.ok()) break;
    if (!same) continue;  // a changed or removed view: its windows start empty
    const auto at = static_cast<std::size_t>(it - views.begin());
    if (restored[at]) return data_loss("snapshot holds view \"" + name + "\" twice");
    detail::ByteReader vr(section);
    if (!read_view(vr, **it, version) || vr.remaining() != 0) return data_loss("snapshot of view \"" + name + "\" is malformed");
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
  if (version < 2 || version > kSnapshotVersion) {
    return data_loss("snapshot version " + std::to_string(version) + " is not supported (this build reads versions 2 to " +
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

}  // namespace ioc::window
