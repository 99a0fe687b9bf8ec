#include "ioc/rules/evaluator.hpp"

#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "ioc/core/bytes.hpp"
#include "ioc/core/check.hpp"
#include "ioc/core/time_format.hpp"
#include "ioc/rules/fingerprint.hpp"

namespace ioc::rules {

namespace {

constexpr std::size_t kMaxValues = 8;
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();
constexpr std::uint32_t kSnapshotMagic = 0x52434f49;  // "IOCR"
constexpr std::uint32_t kSnapshotVersion = 2;  // 2: u64 window revisions

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/// The latest revision of one window of one series, with the values the rule reads.
struct Slot {
  std::int64_t start = 0;
  std::int64_t end = 0;
  std::uint64_t revision = 0;
  std::int64_t count = 0;
  std::array<double, kMaxValues> v{};
  std::uint8_t present = 0;
  std::vector<std::string> samples;
  bool has(int i) const { return i >= 0 && (present & (1u << i)) != 0; }
};

/// A past window's value, for baselines (windows on the grid of their own length).
struct HistoryEntry {
  std::int64_t start = 0;
  std::uint64_t revision = 0;
  double value = 0;
};

struct Series {
  std::vector<Label> labels;
  std::string member;
  std::uint32_t alert = 0;
  std::vector<Slot> recent;           // by start
  std::vector<HistoryEntry> history;  // by start
  std::int64_t last_heard = kNever;
};

struct Alert {
  std::vector<Label> labels;
  std::string key;
  std::string fingerprint;
  std::vector<std::uint32_t> series;
  Lifecycle lc;
  Evaluation last;
  std::int64_t created_at = kNever;
  bool touched = false;
};

using Index = boost::unordered_flat_map<std::string, std::uint32_t>;

struct RuleState {
  const Rule* rule = nullptr;
  const views::ViewConfig* view = nullptr;
  // Slots of Slot::v: the values this rule reads.
  std::vector<std::string> names;
  int i_value = -1;
  int i_denominator = -1;
  int i_heartbeat = -1;
  std::vector<int> i_require;
  bool keeps_history = false;
  bool tracks_silence = false;
  Index series_by_key;
  std::vector<Series> series;
  Index alert_by_key;
  std::vector<Alert> alerts;
  std::vector<std::uint32_t> touched;
  std::int64_t observing_since = kNever;
  std::int64_t max_window = 0;  // longest window seen (for pruning history)
};

int add_name(RuleState& rs, const std::string& name) {
  if (name.empty()) return -1;
  for (std::size_t i = 0; i < rs.names.size(); ++i) {
    if (rs.names[i] == name) return static_cast<int>(i);
  }
  rs.names.push_back(name);
  return static_cast<int>(rs.names.size() - 1);
}

const std::string* label_value(const std::vector<Label>& labels, std::string_view name) {
  for (const Label& l : labels) {
    if (l.name == name) return &l.value;
  }
  return nullptr;
}

bool matches(const Rule& rule, const std::vector<Label>& labels) {
  for (const Matcher& m : rule.match) {
    const std::string* v = label_value(labels, m.label);
    const bool in = v != nullptr && std::find(m.values.begin(), m.values.end(), *v) != m.values.end();
    if (in == m.negate) return false;
  }
  return true;
}

void append_key(std::string& key, const Label& l) {
  key += l.name;
  key += '\x1e';
  key += l.value;
  key += '\x1f';
}

// ---------------------------------------------------------------- snapshot bytes

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

// SDM Alert categories to CAP 1.2 <category>.
std::string cap_category_for(const std::string& sdm, const std::string& sub) {
  if (sdm == "naturalDisaster") {
    if (sub == "landslide" || sub == "earthquake") return "Geo";
    if (sub == "forestFire") return "Fire";
    return "Met";
  }
  if (sdm == "weather") return "Met";
  if (sdm == "traffic") return "Transport";
  if (sdm == "environment") return "Env";
  if (sdm == "health") return "Health";
  if (sdm == "security") return sub == "buildingFire" ? "Fire" : "Security";
  if (sdm == "infrastructure") return "Infra";
  return "Other";
}

}  // namespace

const char* to_string(Ingest i) {
  switch (i) {
    case Ingest::kApplied: return "applied";
    case Ingest::kStale: return "stale";
    case Ingest::kExpired: return "expired";
    case Ingest::kUnmatched: return "unmatched";
    case Ingest::kInvalid: return "invalid";
  }
  return "?";
}

std::string format_value(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "n/a" : (v > 0 ? "inf" : "-inf");
  char buf[64];
  if (std::fabs(v) < 1e15 && v == std::floor(v)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string format_duration(Millis d) {
  const std::int64_t s = std::max<std::int64_t>(0, d.count() / 1000);
  auto two = [](std::int64_t big, const char* bu, std::int64_t small, const char* su) {
    return std::to_string(big) + bu + (small > 0 ? std::to_string(small) + su : "");
  };
  if (s < 120) return std::to_string(s) + "s";
  if (s < 3600) return two(s / 60, "m", s % 60, "s");
  if (s < 86'400) return two(s / 3600, "h", s % 3600 / 60, "m");
  return two(s / 86'400, "d", s % 86'400 / 3600, "h");
}

// ---------------------------------------------------------------- Impl

struct Evaluator::Impl {
  RuleSet rules;
  const views::Catalog* catalog;
  const Registry* registry;
  EvaluatorOptions options;
  std::vector<RuleState> states;
  /// Rules per view, indexed by one equality matcher each (label -> value ->
  /// rules), so a result is only matched against the rules that can take it.
  struct ViewRules {
    std::vector<std::string> labels;  // index labels, in order
    std::vector<boost::unordered_flat_map<std::string, std::vector<std::uint32_t>>> by_value;
    std::vector<std::uint32_t> unindexed;
  };
  boost::unordered_flat_map<std::string, ViewRules> by_view;
  std::uint64_t evaluations = 0;
  std::string scratch_key;
  std::vector<std::uint32_t> scratch_rules;
  std::vector<Label> scratch_labels;
  struct MemberState {
    const std::string* name;
    std::int64_t heard;
    bool breach;
  };
  mutable std::vector<MemberState> member_scratch_;

  Impl(RuleSet r, const views::Catalog* c, const Registry* reg, EvaluatorOptions o)
      : rules(std::move(r)), catalog(c), registry(reg), options(o) {
    states.resize(rules.rules.size());
    for (std::size_t i = 0; i < rules.rules.size(); ++i) {
      const Rule& rule = rules.rules[i];
      RuleState& rs = states[i];
      rs.rule = &rule;
      rs.view = catalog != nullptr ? catalog->find(rule.view) : nullptr;
      switch (rule.kind) {
        case ConditionKind::kThreshold:
        case ConditionKind::kBaseline:
          rs.i_value = add_name(rs, rule.value);
          break;
        case ConditionKind::kRatio:
          rs.i_value = add_name(rs, rule.value);
          rs.i_denominator = add_name(rs, rule.denominator);
          break;
        case ConditionKind::kAbsence:
          rs.i_heartbeat = add_name(rs, rule.absence.heartbeat);
          rs.tracks_silence = true;
          break;
        case ConditionKind::kMembers:
          if (rule.members.absence) {
            rs.i_heartbeat = add_name(rs, rule.members.absence->heartbeat);
            rs.tracks_silence = true;
          } else {
            rs.i_value = add_name(rs, rule.members.value);
          }
          break;
      }
      for (const Requirement& q : rule.require) rs.i_require.push_back(add_name(rs, q.value));
      IOC_CHECK_MSG(rs.names.size() <= kMaxValues, "the parser bounds the values a rule reads");
      rs.keeps_history = rule.kind == ConditionKind::kBaseline;
      ViewRules& vr = by_view[rule.view];
      auto m = std::find_if(rule.match.begin(), rule.match.end(), [](const Matcher& x) { return !x.negate; });
      if (m == rule.match.end()) {
        vr.unindexed.push_back(static_cast<std::uint32_t>(i));
      } else {
        auto l = std::find(vr.labels.begin(), vr.labels.end(), m->label);
        if (l == vr.labels.end()) {
          vr.labels.push_back(m->label);
          vr.by_value.emplace_back();
          l = vr.labels.end() - 1;
        }
        for (const std::string& v : m->values) vr.by_value[static_cast<std::size_t>(l - vr.labels.begin())][v].push_back(static_cast<std::uint32_t>(i));
      }
    }
  }

  // ---------------------------------------------------------------- keys

  /// The alert labels of a result under a rule; false when it lacks one.
  bool alert_labels(const Rule& rule, const std::vector<Label>& group, std::vector<Label>& out) const {
    out.clear();
    if (!rule.group_by) {
      out = group;
      return true;
    }
    for (const std::string& name : *rule.group_by) {
      const std::string* v = label_value(group, name);
      if (v == nullptr) return false;
      out.push_back({name, *v});
    }
    return true;
  }

  static std::string key_of(const std::vector<Label>& labels) {
    std::string key;
    for (const Label& l : labels) append_key(key, l);
    return key;
  }

  std::uint32_t alert_for(RuleState& rs, const std::vector<Label>& labels, std::int64_t now) {
    std::string key = key_of(labels);
    if (auto it = rs.alert_by_key.find(key); it != rs.alert_by_key.end()) return it->second;
    Alert a;
    a.labels = labels;
    a.key = key;
    a.fingerprint = fingerprint(rs.rule->name, labels);
    a.created_at = now;
    const auto idx = static_cast<std::uint32_t>(rs.alerts.size());
    rs.alerts.push_back(std::move(a));
    rs.alert_by_key.emplace(std::move(key), idx);
    return idx;
  }

  void touch(RuleState& rs, std::uint32_t alert) {
    Alert& a = rs.alerts[alert];
    if (!a.touched) {
      a.touched = true;
      rs.touched.push_back(alert);
    }
  }

  // ---------------------------------------------------------------- ingest

  Ingest add(const WindowResult& r, TimePoint now_tp) {
    const std::int64_t start = to_epoch_ms(r.window_start);
    const std::int64_t end = to_epoch_ms(r.window_end);
    if (end <= start) return Ingest::kInvalid;
    for (const auto& v : r.values) {
      if (!std::isfinite(v.value)) return Ingest::kInvalid;
    }
    auto it = by_view.find(r.view);
    if (it == by_view.end()) return Ingest::kUnmatched;
    const ViewRules& vr = it->second;
    scratch_rules.assign(vr.unindexed.begin(), vr.unindexed.end());
    for (std::size_t li = 0; li < vr.labels.size(); ++li) {
      if (const std::string* v = label_value(r.group, vr.labels[li])) {
        if (auto rit = vr.by_value[li].find(*v); rit != vr.by_value[li].end()) {
          scratch_rules.insert(scratch_rules.end(), rit->second.begin(), rit->second.end());
        }
      }
    }
    std::sort(scratch_rules.begin(), scratch_rules.end());  // rule order: deterministic outcomes
    const std::int64_t now = to_epoch_ms(now_tp);
    bool applied = false;
    bool stale = false;
    bool expired = false;
    std::vector<Label>& labels = scratch_labels;
    scratch_key.clear();
    for (const Label& l : r.group) append_key(scratch_key, l);
    for (std::uint32_t ri : scratch_rules) {
      RuleState& rs = states[ri];
      const Rule& rule = *rs.rule;
      if (!matches(rule, r.group) || !alert_labels(rule, r.group, labels)) continue;
      std::string member;
      if (rule.kind == ConditionKind::kMembers) {
        const std::string* m = label_value(r.group, rule.members.label);
        if (m == nullptr) continue;
        member = *m;
      }
      // The earliest window this rule has data of: baselines reaching further back are unknown.
      if (rs.observing_since == kNever || start < rs.observing_since) rs.observing_since = start;
      std::uint32_t si = 0;
      if (auto sit = rs.series_by_key.find(scratch_key); sit != rs.series_by_key.end()) {
        si = sit->second;
      } else {
        Series s;
        s.labels = r.group;
        s.member = std::move(member);
        s.alert = alert_for(rs, labels, now);
        si = static_cast<std::uint32_t>(rs.series.size());
        rs.alerts[s.alert].series.push_back(si);
        rs.series.push_back(std::move(s));
        rs.series_by_key.emplace(scratch_key, si);
      }
      switch (apply(rs, rs.series[si], r, start, end, now)) {
        case Ingest::kApplied:
          applied = true;
          touch(rs, rs.series[si].alert);
          break;
        case Ingest::kStale: stale = true; break;
        case Ingest::kExpired: expired = true; break;
        case Ingest::kUnmatched:
        case Ingest::kInvalid: break;
      }
    }
    if (applied) return Ingest::kApplied;
    if (stale) return Ingest::kStale;
    if (expired) return Ingest::kExpired;
    return Ingest::kUnmatched;
  }

  Ingest apply(RuleState& rs, Series& s, const WindowResult& r, std::int64_t start, std::int64_t end,
               std::int64_t now) {
    const Rule& rule = *rs.rule;
    rs.max_window = std::max(rs.max_window, end - start);
    std::array<double, kMaxValues> v{};
    std::uint8_t present = 0;
    for (std::size_t i = 0; i < rs.names.size(); ++i) {
      const std::string& name = rs.names[i];
      for (const auto& x : r.values) {
        if (x.name == name) {
          v[i] = x.value;
          present |= static_cast<std::uint8_t>(1u << i);
          break;
        }
      }
      if ((present & (1u << i)) == 0 && name == "count") {  // the result's own event count
        v[i] = static_cast<double>(r.count);
        present |= static_cast<std::uint8_t>(1u << i);
      }
    }

    bool changed = false;
    bool stale = false;
    bool new_records = false;
    auto pos = std::lower_bound(s.recent.begin(), s.recent.end(), start,
                                [](const Slot& a, std::int64_t t) { return a.start < t; });
    if (pos != s.recent.end() && pos->start == start && pos->end == end) {
      if (r.revision <= pos->revision) {
        stale = true;
      } else {
        new_records = r.count > pos->count;
        pos->revision = r.revision;
        pos->count = r.count;
        pos->v = v;
        pos->present = present;
        pos->samples.assign(r.sample_ids.begin(),
                            r.sample_ids.begin() + static_cast<std::ptrdiff_t>(
                                                       std::min(r.sample_ids.size(), options.max_sample_ids)));
        changed = true;
      }
    } else if (end > now - rule.grace.count()) {
      Slot slot;
      slot.start = start;
      slot.end = end;
      slot.revision = r.revision;
      slot.count = r.count;
      slot.v = v;
      slot.present = present;
      slot.samples.assign(r.sample_ids.begin(),
                          r.sample_ids.begin() + static_cast<std::ptrdiff_t>(
                                                     std::min(r.sample_ids.size(), options.max_sample_ids)));
      s.recent.insert(pos, std::move(slot));
      new_records = r.count > 0;
      changed = true;
    } else {
      new_records = r.count > 0;  // an old window; its records may still be news to a silence check
    }

    if (rs.keeps_history && (present & 1u) != 0 && !stale) {
      const std::int64_t step = end - start;
      if (floor_div(start, step) * step == start) {
        auto h = std::lower_bound(s.history.begin(), s.history.end(), start,
                                  [](const HistoryEntry& e, std::int64_t t) { return e.start < t; });
        if (h != s.history.end() && h->start == start) {
          if (r.revision > h->revision) {
            h->revision = r.revision;
            h->value = v[static_cast<std::size_t>(rs.i_value)];
            changed = true;
          }
        } else if (start >= now - rule.baseline.period.count() - 2 * step) {
          s.history.insert(h, {start, r.revision, v[static_cast<std::size_t>(rs.i_value)]});
          changed = true;
        }
      }
    }

    if (rs.tracks_silence && !stale) {
      std::int64_t life = kNever;
      if (rs.i_heartbeat >= 0) {
        if ((present & (1u << rs.i_heartbeat)) != 0) {
          life = static_cast<std::int64_t>(v[static_cast<std::size_t>(rs.i_heartbeat)] * 1000.0);
        }
      } else if (new_records) {
        // When the aggregator had read up to: replayed old results are old news.
        const std::int64_t wm = to_epoch_ms(r.watermark);
        life = wm > 0 ? std::min(wm, now) : now;
      }
      life = std::min(life, now);
      if (life > s.last_heard) {
        s.last_heard = life;
        changed = true;
      }
    }
    if (changed) return Ingest::kApplied;
    return stale ? Ingest::kStale : Ingest::kExpired;
  }

  // ---------------------------------------------------------------- evaluation

  static const Slot* current(const Series& s, std::int64_t now, std::int64_t grace) {
    const Slot* best = nullptr;
    for (const Slot& slot : s.recent) {
      if (slot.end > now - grace && (best == nullptr || slot.end < best->end)) best = &slot;
    }
    return best;
  }

  double combine(Combine c, double acc, double x, bool first) const {
    if (first) return x;
    switch (c) {
      case Combine::kSum: return acc + x;
      case Combine::kMax: return std::max(acc, x);
      case Combine::kMin: return std::min(acc, x);
    }
    return acc;
  }

  /// The baseline of one series for a current window starting at `start`.
  std::optional<double> series_baseline(const RuleState& rs, const Series& s, std::int64_t start,
                                        std::int64_t step) const {
    const Baseline& b = rs.rule->baseline;
    const std::int64_t period = b.period.count();
    switch (b.kind) {
      case Baseline::Kind::kSameWindow: {
        const std::int64_t t = floor_div(start - period, step) * step;
        if (rs.observing_since == kNever || rs.observing_since > t) return std::nullopt;
        auto h = std::lower_bound(s.history.begin(), s.history.end(), t,
                                  [](const HistoryEntry& e, std::int64_t x) { return e.start < x; });
        return (h != s.history.end() && h->start == t) ? h->value : 0.0;
      }
      case Baseline::Kind::kTrailingMean: {
        const std::int64_t from = start - period;
        if (rs.observing_since == kNever || rs.observing_since > from) return std::nullopt;
        double sum = 0;
        for (auto h = std::lower_bound(s.history.begin(), s.history.end(), from,
                                       [](const HistoryEntry& e, std::int64_t x) { return e.start < x; });
             h != s.history.end() && h->start < start; ++h) {
          sum += h->value;
        }
        const double windows = std::max<double>(1.0, static_cast<double>(period) / static_cast<double>(step));
        return sum / windows;
      }
    }
    return std::nullopt;
  }

  Verdict judge(const Rule& rule, double x) const {
    if (rule.fire.holds(x)) return Verdict::kFire;
    if (rule.clear.holds(x)) return Verdict::kClear;
    return Verdict::kHold;
  }

  /// Resets `e` for a new evaluation, keeping its buffers.
  static void reset(Evaluation& e) {
    e.verdict = Verdict::kClear;
    e.has_data = false;
    e.value = 0;
    e.threshold = 0;
    e.clear_threshold = 0;
    e.baseline.reset();
    e.window_start = {};
    e.window_end = {};
    e.sample_ids.clear();
    e.members.clear();
  }

  void collect_samples(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const {
    for (std::uint32_t si : a.series) {
      const Slot* slot = current(rs.series[si], now, rs.rule->grace.count());
      if (slot == nullptr || !slot->has(rs.i_value)) continue;
      for (const std::string& id : slot->samples) {
        if (e.sample_ids.size() >= options.max_sample_ids) return;
        e.sample_ids.push_back(id);
      }
    }
  }

  // Evidence is gathered only where it is shown: alerts that fire, pend or are about to.
  static bool wants_samples(const Alert& a, Verdict v) {
    return v == Verdict::kFire || a.lc.phase != Phase::kInactive;
  }

  void evaluate_values(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const {
    const Rule& rule = *rs.rule;
    e.threshold = rule.fire.value;
    e.clear_threshold = rule.clear.value;
    double value = 0;
    double den = 0;
    std::array<double, kMaxValues> req{};
    bool any = false;
    const Slot* window = nullptr;
    for (std::uint32_t si : a.series) {
      const Slot* slot = current(rs.series[si], now, rule.grace.count());
      if (slot == nullptr || !slot->has(rs.i_value)) continue;
      if (rs.i_denominator >= 0 && !slot->has(rs.i_denominator)) continue;
      value = combine(rule.combine, value, slot->v[static_cast<std::size_t>(rs.i_value)], !any);
      if (rs.i_denominator >= 0) den += slot->v[static_cast<std::size_t>(rs.i_denominator)];
      for (std::size_t q = 0; q < rs.i_require.size(); ++q) {
        const int i = rs.i_require[q];
        if (slot->has(i)) req[q] += slot->v[static_cast<std::size_t>(i)];
      }
      any = true;
      if (window == nullptr || slot->end < window->end) window = slot;
    }
    if (!any) {
      e.verdict = Verdict::kClear;  // no current window: nothing to alert on
      return;
    }
    e.has_data = true;
    e.window_start = from_epoch_ms(window->start);
    e.window_end = from_epoch_ms(window->end);
    e.value = rule.kind == ConditionKind::kRatio ? (den != 0 ? value / den : 0) : value;
    bool required = true;
    for (std::size_t q = 0; q < rs.i_require.size(); ++q) required = required && rule.require[q].cmp.holds(req[q]);
    if (!required) {
      e.verdict = Verdict::kUnknown;
    } else {
      switch (rule.kind) {
        case ConditionKind::kThreshold:
          e.verdict = judge(rule, value);
          break;
        case ConditionKind::kRatio:
          e.verdict = den == 0 ? Verdict::kUnknown : judge(rule, e.value);
          break;
        case ConditionKind::kBaseline: {
          const std::int64_t step = window->end - window->start;
          double base = 0;
          bool first = true;
          bool known = true;
          for (std::uint32_t si : a.series) {
            const Slot* slot = current(rs.series[si], now, rule.grace.count());
            if (slot == nullptr || !slot->has(rs.i_value)) continue;
            auto b = series_baseline(rs, rs.series[si], slot->start, step);
            if (!b) {
              known = false;  // not watching long enough to know the past
              break;
            }
            base = combine(rule.combine, base, *b, first);
            first = false;
          }
          if (!known) {
            e.verdict = Verdict::kUnknown;
            break;
          }
          e.baseline = base;
          const double floor = std::max(base, rule.baseline.floor);
          e.threshold = rule.fire.value * floor;
          e.clear_threshold = rule.clear.value * floor;
          e.verdict = judge(rule, value / floor);
          break;
        }
        case ConditionKind::kAbsence:
        case ConditionKind::kMembers:
          break;
      }
    }
    if (wants_samples(a, e.verdict)) collect_samples(rs, a, now, e);
  }

  void evaluate_absence(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const {
    const Rule& rule = *rs.rule;
    std::int64_t heard = kNever;
    for (std::uint32_t si : a.series) heard = std::max(heard, rs.series[si].last_heard);
    if (heard == kNever) heard = a.created_at;  // a view never heard from: silent since the alerter looked
    e.has_data = true;
    const std::int64_t silent = std::max<std::int64_t>(0, now - heard);
    e.value = static_cast<double>(silent) / 1000.0;
    e.threshold = e.clear_threshold = static_cast<double>(rule.absence.silent_for.count()) / 1000.0;
    e.window_end = from_epoch_ms(heard);
    e.verdict = silent >= rule.absence.silent_for.count() ? Verdict::kFire : Verdict::kClear;
  }

  void evaluate_members(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const {
    const Rule& rule = *rs.rule;
    e.threshold = rule.fire.value;
    e.clear_threshold = rule.clear.value;
    // Members of this group, each with its breach; series of one member merge.
    auto& members = member_scratch_;
    members.clear();
    for (std::uint32_t si : a.series) {
      const Series& s = rs.series[si];
      if (rule.members.absence) {
        members.push_back({&s.member, s.last_heard, false});
      } else {
        const Slot* slot = current(s, now, rule.grace.count());
        const bool breach = slot != nullptr && slot->has(rs.i_value) &&
                            rule.members.when.holds(slot->v[static_cast<std::size_t>(rs.i_value)]);
        members.push_back({&s.member, kNever, breach});
      }
    }
    std::sort(members.begin(), members.end(), [](const MemberState& x, const MemberState& y) {
      return *x.name < *y.name;
    });
    std::size_t breaching = 0;
    for (std::size_t i = 0; i < members.size();) {
      std::size_t j = i;
      std::int64_t heard = kNever;
      bool breach = false;
      for (; j < members.size() && *members[j].name == *members[i].name; ++j) {
        heard = std::max(heard, members[j].heard);
        breach = breach || members[j].breach;
      }
      if (rule.members.absence) {
        breach = heard != kNever && now - heard >= rule.members.absence->silent_for.count();
      }
      if (breach) {
        ++breaching;
        if (e.members.size() < options.max_members) e.members.push_back(*members[i].name);
        if (e.sample_ids.size() < options.max_sample_ids) e.sample_ids.push_back(*members[i].name);
      }
      i = j;
    }
    e.has_data = !a.series.empty();
    e.value = static_cast<double>(breaching);
    e.verdict = judge(rule, e.value);
  }

  void evaluate_one(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const {
    reset(e);
    switch (rs.rule->kind) {
      case ConditionKind::kThreshold:
      case ConditionKind::kRatio:
      case ConditionKind::kBaseline:
        return evaluate_values(rs, a, now, e);
      case ConditionKind::kAbsence:
        return evaluate_absence(rs, a, now, e);
      case ConditionKind::kMembers:
        return evaluate_members(rs, a, now, e);
    }
  }

  void run(RuleState& rs, Alert& a, TimePoint now_tp, std::vector<AlertEvent>& out) {
    const std::int64_t now = to_epoch_ms(now_tp);
    const Rule& rule = *rs.rule;
    ++evaluations;
    evaluate_one(rs, a, now, a.last);
    const Step step = a.lc.step(a.last.verdict, now_tp, rule.for_, rule.keep_firing_for);
    switch (step) {
      case Step::kNone:
        if (a.lc.phase == Phase::kFiring && options.update_interval.count() > 0 && a.last.has_data &&
            a.last.value != a.lc.last_value && now_tp - a.lc.last_event_at >= options.update_interval) {
          out.push_back(make_event(rs, a, AlertEvent::State::kFiring, now_tp));
        }
        return;
      case Step::kPending: out.push_back(make_event(rs, a, AlertEvent::State::kPending, now_tp)); return;
      case Step::kFiring: out.push_back(make_event(rs, a, AlertEvent::State::kFiring, now_tp)); return;
      case Step::kCanceled: out.push_back(make_event(rs, a, AlertEvent::State::kInactive, now_tp)); return;
      case Step::kResolved: out.push_back(make_event(rs, a, AlertEvent::State::kResolved, now_tp)); return;
    }
  }

  // ---------------------------------------------------------------- events

  std::optional<std::string> lookup(const RuleState& rs, const Alert& a, std::string_view name) const {
    const Rule& rule = *rs.rule;
    const Evaluation& e = a.last;
    if (name == "value") return format_value(e.value);
    if (name == "threshold") return format_value(e.threshold);
    if (name == "clear_threshold") return format_value(e.clear_threshold);
    if (name == "value_percent") return format_value(std::round(e.value * 1000.0) / 10.0) + "%";
    if (name == "threshold_percent") return format_value(std::round(e.threshold * 1000.0) / 10.0) + "%";
    if (name == "rule") return rule.name;
    if (name == "severity") return std::string(to_string(rule.severity));
    if (name == "view") return rule.view;
    if (name == "baseline") return e.baseline ? format_value(*e.baseline) : std::string("n/a");
    if (name == "silent_for") return format_duration(Millis(static_cast<std::int64_t>(e.value * 1000)));
    if (name == "window_start") return e.has_data ? format_rfc3339(e.window_start) : std::string();
    if (name == "window_end") return e.has_data ? format_rfc3339(e.window_end) : std::string();
    if (name == "members") {
      std::string out;
      for (const auto& m : e.members) out += (out.empty() ? "" : ", ") + m;
      return out;
    }
    if (const std::string* v = label_value(a.labels, name)) return *v;
    for (const auto& [k, v] : rule.labels) {
      if (k == name) return v;
    }
    if (name.ends_with("_name") && registry != nullptr) {
      const std::string_view label = name.substr(0, name.size() - 5);
      if (const std::string* code = label_value(a.labels, label)) {
        if (label == "district") {
          if (auto i = registry->district_index(*code)) return registry->district(*i).name;
        } else if (label == "category") {
          if (auto i = registry->category_index(*code)) return registry->category(*i).name;
        }
        return *code;
      }
    }
    return std::nullopt;
  }

  AlertEvent make_event(const RuleState& rs, Alert& a, AlertEvent::State state, TimePoint now) {
    const Rule& rule = *rs.rule;
    const Evaluation& e = a.last;
    AlertEvent ev;
    ev.fingerprint = a.fingerprint;
    ev.id = episode_id(a.fingerprint, a.lc.active_at);
    ev.rule = rule.name;
    ev.state = state;
    ev.severity = to_string(rule.severity);
    ev.view = rule.view;
    ev.group = a.labels;
    ev.window_start = e.window_start;
    ev.window_end = e.window_end;
    ev.value = e.value;
    ev.threshold = e.threshold;
    ev.comparator = rule.kind == ConditionKind::kAbsence ? ">=" : to_string(rule.fire.op);
    ev.sample_ids = e.sample_ids;
    ev.category = rule.category;
    ev.sub_category = rule.sub_category;
    if (!rule.category_from_label.empty()) {
      if (const std::string* code = label_value(a.labels, rule.category_from_label)) {
        ev.sub_category = *code;
        if (registry != nullptr) {
          if (auto i = registry->category_index(*code)) {
            const Category& c = registry->category(*i);
            ev.category = c.sdm_category;
            ev.sub_category = c.sdm_subcategory;
          }
        }
      }
      if (ev.category.empty()) ev.category = "other";
    }
    auto look = [&](std::string_view name) { return lookup(rs, a, name); };
    ev.labels.push_back({"alertname", rule.name});
    ev.labels.push_back({"severity", to_string(rule.severity)});
    for (const Label& l : a.labels) ev.labels.push_back(l);
    for (const auto& [k, v] : rule.labels) ev.labels.push_back({k, v});
    for (const auto& [k, t] : rule.annotations) {
      std::string text = t.render(look);
      if (k == "summary") ev.summary = text;
      if (k == "description") ev.description = text;
      ev.annotations.push_back({k, std::move(text)});
    }
    ev.scenario = rule.scenario.render(look);
    if (!ev.scenario.empty()) ev.annotations.push_back({"scenario", ev.scenario});
    ev.annotations.push_back({"cap_category", rule.cap_category.empty()
                                                  ? cap_category_for(ev.category, ev.sub_category)
                                                  : rule.cap_category});
    if (!rule.event.empty()) ev.annotations.push_back({"event", rule.event});
    ev.starts_at = a.lc.active_at;
    if (state == AlertEvent::State::kResolved || state == AlertEvent::State::kInactive) ev.ends_at = now;
    ev.sent_at = now;
    ev.revision = ++a.lc.revision;
    a.lc.last_event_at = now;
    a.lc.last_value = e.value;
    return ev;
  }

  // ---------------------------------------------------------------- housekeeping

  void prune(RuleState& rs, std::int64_t now) {
    const Rule& rule = *rs.rule;
    const std::int64_t horizon = now - rule.grace.count();
    const std::int64_t history_from =
        rs.keeps_history ? now - rule.baseline.period.count() - 2 * std::max<std::int64_t>(rs.max_window, 1)
                         : std::numeric_limits<std::int64_t>::max();
    for (Series& s : rs.series) {
      std::erase_if(s.recent, [&](const Slot& slot) { return slot.end <= horizon; });
      if (!s.history.empty() && s.history.front().start < history_from) {
        std::erase_if(s.history, [&](const HistoryEntry& h) { return h.start < history_from; });
      }
    }
  }

  void evaluate_all(TimePoint now_tp, std::vector<AlertEvent>& out) {
    const std::int64_t now = to_epoch_ms(now_tp);
    for (RuleState& rs : states) {
      const Rule& rule = *rs.rule;
      // A whole view that must not fall silent exists before anything is heard.
      if (rule.kind == ConditionKind::kAbsence && rule.group_by && rule.group_by->empty() && rs.alerts.empty()) {
        alert_for(rs, {}, now);
      }
      for (Alert& a : rs.alerts) {
        a.touched = false;
        run(rs, a, now_tp, out);
      }
      rs.touched.clear();
      prune(rs, now);
    }
  }

  void evaluate_touched(TimePoint now_tp, std::vector<AlertEvent>& out) {
    for (RuleState& rs : states) {
      for (std::uint32_t ai : rs.touched) {
        Alert& a = rs.alerts[ai];
        a.touched = false;
        run(rs, a, now_tp, out);
      }
      rs.touched.clear();
    }
  }

  RuleState* state_of(std::string_view rule) {
    for (RuleState& rs : states) {
      if (rs.rule->name == rule) return &rs;
    }
    return nullptr;
  }

  bool restore(const AlertEvent& ev) {
    RuleState* rs = state_of(ev.rule);
    if (rs == nullptr) return false;
    if (rs->rule->group_by) {
      if (ev.group.size() != rs->rule->group_by->size()) return false;
      for (std::size_t i = 0; i < ev.group.size(); ++i) {
        if (ev.group[i].name != (*rs->rule->group_by)[i]) return false;
      }
    }
    if (fingerprint(rs->rule->name, ev.group) != ev.fingerprint) return false;
    Alert& a = rs->alerts[alert_for(*rs, ev.group, to_epoch_ms(ev.sent_at))];
    Lifecycle& lc = a.lc;
    if (ev.sent_at < lc.last_event_at || (ev.sent_at == lc.last_event_at && ev.revision <= lc.revision)) {
      return true;  // this evaluator already knows as much or more
    }
    lc.active_at = ev.starts_at;
    lc.last_event_at = ev.sent_at;
    lc.revision = ev.revision;
    lc.last_value = ev.value;
    lc.clearing = false;
    switch (ev.state) {
      case AlertEvent::State::kFiring:
        if (lc.phase != Phase::kFiring) lc.fired_at = ev.sent_at;
        lc.phase = Phase::kFiring;
        break;
      case AlertEvent::State::kPending:
        lc.phase = Phase::kPending;
        break;
      case AlertEvent::State::kResolved:
      case AlertEvent::State::kInactive:
      case AlertEvent::State::kUnspecified:
        lc.phase = Phase::kInactive;
        break;
    }
    return true;
  }

  // ---------------------------------------------------------------- snapshot

  std::string snapshot() const {
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

  Status restore_snapshot(std::string_view bytes) {
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
};

// ---------------------------------------------------------------- Evaluator

Evaluator::Evaluator(RuleSet rules, const views::Catalog* catalog, const Registry* registry, EvaluatorOptions options)
    : impl_(std::make_unique<Impl>(std::move(rules), catalog, registry, options)) {}
Evaluator::~Evaluator() = default;
Evaluator::Evaluator(Evaluator&&) noexcept = default;
Evaluator& Evaluator::operator=(Evaluator&&) noexcept = default;

const RuleSet& Evaluator::rules() const { return impl_->rules; }
Ingest Evaluator::add(const WindowResult& result, TimePoint now) { return impl_->add(result, now); }
void Evaluator::evaluate_touched(TimePoint now, std::vector<AlertEvent>& out) { impl_->evaluate_touched(now, out); }
void Evaluator::evaluate_all(TimePoint now, std::vector<AlertEvent>& out) { impl_->evaluate_all(now, out); }
bool Evaluator::restore(const AlertEvent& last) { return impl_->restore(last); }
std::string Evaluator::snapshot() const { return impl_->snapshot(); }
Status Evaluator::restore_snapshot(std::string_view bytes) { return impl_->restore_snapshot(bytes); }

std::vector<AlertStatus> Evaluator::active() const {
  std::vector<AlertStatus> out;
  for (const RuleState& rs : impl_->states) {
    for (const Alert& a : rs.alerts) {
      if (a.lc.phase == Phase::kInactive) continue;
      out.push_back({rs.rule, a.fingerprint, a.labels, a.lc, a.last});
    }
  }
  return out;
}

void Evaluator::forget_revisions() {
  for (RuleState& rs : impl_->states) {
    for (Series& s : rs.series) {
      for (Slot& slot : s.recent) slot.revision = 0;
      for (HistoryEntry& h : s.history) h.revision = 0;
    }
  }
}

EvaluatorStats Evaluator::stats() const {
  EvaluatorStats st;
  st.evaluations = impl_->evaluations;
  for (const RuleState& rs : impl_->states) {
    st.series += rs.series.size();
    st.alerts += rs.alerts.size();
    for (const Series& s : rs.series) {
      st.windows += s.recent.size();
      st.history += s.history.size();
    }
  }
  return st;
}

}  // namespace ioc::rules
