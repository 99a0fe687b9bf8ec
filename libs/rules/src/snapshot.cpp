// Evaluator, snapshot: the rules' state as versioned, checksummed bytes.
#include "evaluator_impl.hpp"

#include <cstring>

#include "ioc/core/bytes.hpp"

namespace ioc::rules {

using namespace detail;

namespace {

constexpr std::uint32_t kSnapshotMagic = 0x52434f49;  // "IOCR"
constexpr std::uint32_t kSnapshotVersion = 2;  // 2: u64 window revisions

using Writer = ByteWriter<std::string>;

void write_labels(Writer& w, const std::vector<Label>& ls) {
  w.u32(static_cast<std::uint32_t>(ls.size()));
  for (const Label& l : ls) {
    w.str(l.name);
    w.str(l.value);
  }
}

std::vector<Label> read_labels(ByteReader& r) {
  std::vector<Label> ls(r.count<std::uint32_t>(8));
  for (Label& l : ls) {
    l.name = r.str();
    l.value = r.str();
  }
  return ls;
}

void write_lifecycle(Writer& w, const Lifecycle& lc) {
  w.u8(static_cast<std::uint8_t>(lc.phase));
  w.i64(to_epoch_ms(lc.active_at));
  w.i64(to_epoch_ms(lc.fired_at));
  w.i64(to_epoch_ms(lc.clear_since));
  w.u8(lc.clearing ? 1 : 0);
  w.i64(to_epoch_ms(lc.last_event_at));
  w.u32(lc.revision);
  w.f64(lc.last_value);
}

// Snapshots store a phase as its number: the numbering is part of the format.
static_assert(static_cast<int>(Phase::kInactive) == 0 && static_cast<int>(Phase::kPending) == 1 &&
              static_cast<int>(Phase::kFiring) == 2);

Lifecycle read_lifecycle(ByteReader& r) {
  Lifecycle lc;
  const std::uint8_t phase = r.u8();
  lc.phase = phase <= static_cast<std::uint8_t>(Phase::kFiring) ? static_cast<Phase>(phase) : Phase::kInactive;
  lc.active_at = from_epoch_ms(r.i64());
  lc.fired_at = from_epoch_ms(r.i64());
  lc.clear_since = from_epoch_ms(r.i64());
  lc.clearing = r.u8() != 0;
  lc.last_event_at = from_epoch_ms(r.i64());
  lc.revision = r.u32();
  lc.last_value = r.f64();
  return lc;
}

}  // namespace

// ---------------------------------------------------------------- snapshot

std::string Evaluator::Impl::snapshot() const {
  std::string bytes;
  Writer w(bytes);
  w.u32(kSnapshotMagic);
  w.u32(kSnapshotVersion);
  w.u32(static_cast<std::uint32_t>(states.size()));
  for (const RuleState& rs : states) {
    w.str(rs.rule->name);
    w.u64(rs.rule->state_hash());
    w.i64(rs.observing_since);
    w.i64(rs.max_window);
    w.u32(static_cast<std::uint32_t>(rs.alerts.size()));
    for (const Alert& a : rs.alerts) {
      write_labels(w, a.labels);
      w.i64(a.created_at);
      write_lifecycle(w, a.lc);
    }
    w.u32(static_cast<std::uint32_t>(rs.series.size()));
    for (const Series& s : rs.series) {
      write_labels(w, s.labels);
      w.str(s.member);
      w.u32(s.alert);
      w.i64(s.last_heard);
      w.u32(static_cast<std::uint32_t>(s.recent.size()));
      for (const Slot& slot : s.recent) {
        w.i64(slot.start);
        w.i64(slot.end);
        w.u64(slot.revision);
        w.i64(slot.count);
        w.u8(slot.present);
        for (std::size_t i = 0; i < kMaxValues; ++i) {
          if (slot.has(static_cast<int>(i))) w.f64(slot.v[i]);
        }
        w.u32(static_cast<std::uint32_t>(slot.samples.size()));
        for (const auto& id : slot.samples) w.str(id);
      }
      w.u32(static_cast<std::uint32_t>(s.history.size()));
      for (const HistoryEntry& h : s.history) {
        w.i64(h.start);
        w.u64(h.revision);
        w.f64(h.value);
      }
    }
  }
  w.u32(crc32(bytes));
  return bytes;
}

Status Evaluator::Impl::restore_snapshot(std::string_view bytes) {
  if (bytes.size() < 16) return data_loss("rules snapshot: too short");
  std::uint32_t crc = 0;
  std::memcpy(&crc, bytes.data() + bytes.size() - sizeof crc, sizeof crc);
  const std::string_view body = bytes.substr(0, bytes.size() - sizeof crc);
  if (crc32(body) != crc) return data_loss("rules snapshot: checksum mismatch");
  ByteReader r(body);
  if (r.u32() != kSnapshotMagic) return data_loss("rules snapshot: not a rules snapshot");
  // Version 1 held window revisions as u32 (before the aggregator's epochs).
  const std::uint32_t version = r.u32();
  if (version != kSnapshotVersion && version != 1) {
    return data_loss("rules snapshot: version " + std::to_string(version) + ", expected " +
                     std::to_string(kSnapshotVersion));
  }
  const auto revision = [&r, version]() -> std::uint64_t { return version == 1 ? r.u32() : r.u64(); };
  // Read everything first: a snapshot that turns out broken changes nothing.
  std::vector<RuleState> restored(states.size());
  for (std::size_t i = 0; i < states.size(); ++i) {
    restored[i].rule = states[i].rule;
    restored[i].view = states[i].view;
    restored[i].names = states[i].names;
    restored[i].i_value = states[i].i_value;
    restored[i].i_denominator = states[i].i_denominator;
    restored[i].i_heartbeat = states[i].i_heartbeat;
    restored[i].i_require = states[i].i_require;
    restored[i].keeps_history = states[i].keeps_history;
    restored[i].tracks_silence = states[i].tracks_silence;
  }
  const std::size_t nrules = r.count<std::uint32_t>(24);
  for (std::size_t k = 0; k < nrules && r.ok(); ++k) {
    const std::string name = r.str();
    const std::uint64_t hash = r.u64();
    const std::int64_t observing_since = r.i64();
    const std::int64_t max_window = r.i64();
    RuleState* target = nullptr;
    for (RuleState& rs : restored) {
      if (rs.rule->name == name) target = &rs;
    }
    const bool same = target != nullptr && target->rule->state_hash() == hash;
    if (same) {
      target->observing_since = observing_since;
      target->max_window = max_window;
    }
    const std::size_t nalerts = r.count<std::uint32_t>(8);
    std::vector<std::uint32_t> alert_map(nalerts, 0);
    for (std::size_t ai = 0; ai < nalerts && r.ok(); ++ai) {
      std::vector<Label> labels = read_labels(r);
      const std::int64_t created = r.i64();
      const Lifecycle lc = read_lifecycle(r);
      if (target == nullptr) continue;
      if (target->rule->group_by) {
        bool fits = labels.size() == target->rule->group_by->size();
        for (std::size_t i = 0; fits && i < labels.size(); ++i) fits = labels[i].name == (*target->rule->group_by)[i];
        if (!fits) continue;
      }
      const std::uint32_t idx = alert_for(*target, labels, created);
      target->alerts[idx].created_at = created;
      target->alerts[idx].lc = lc;
      alert_map[ai] = idx;
    }
    const std::size_t nseries = r.count<std::uint32_t>(8);
    for (std::size_t si = 0; si < nseries && r.ok(); ++si) {
      Series s;
      s.labels = read_labels(r);
      s.member = r.str();
      const std::uint32_t old_alert = r.u32();
      s.last_heard = r.i64();
      s.recent.resize(r.count<std::uint32_t>(29));
      for (Slot& slot : s.recent) {
        slot.start = r.i64();
        slot.end = r.i64();
        slot.revision = revision();
        slot.count = r.i64();
        slot.present = r.u8();
        for (std::size_t i = 0; i < kMaxValues; ++i) {
          if (slot.has(static_cast<int>(i))) slot.v[i] = r.f64();
        }
        slot.samples.resize(r.count<std::uint32_t>(4));
        for (auto& id : slot.samples) id = r.str();
      }
      s.history.resize(r.count<std::uint32_t>(20));
      for (HistoryEntry& h : s.history) {
        h.start = r.i64();
        h.revision = revision();
        h.value = r.f64();
      }
      if (!same || old_alert >= alert_map.size()) continue;
      s.alert = alert_map[old_alert];
      std::string key;
      for (const Label& l : s.labels) append_key(key, l);
      const auto idx = static_cast<std::uint32_t>(target->series.size());
      target->alerts[s.alert].series.push_back(idx);
      target->series.push_back(std::move(s));
      target->series_by_key.emplace(std::move(key), idx);
    }
  }
  if (!r.ok()) return data_loss("rules snapshot: truncated or malformed");
  states = std::move(restored);
  return {};
}

}  // namespace ioc::rules
