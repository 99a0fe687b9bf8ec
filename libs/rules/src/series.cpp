// Evaluator, series: which rules take a result, and what it changes in a
// series (its recent windows, baseline history and last sign of life).
#include "evaluator_impl.hpp"

#include <cmath>

#include "ioc/core/check.hpp"
#include "ioc/rules/fingerprint.hpp"

namespace ioc::rules {

using namespace detail;

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

Evaluator::Impl::Impl(RuleSet r, const views::Catalog* c, const Registry* reg, EvaluatorOptions o)
    : rules(std::move(r)), catalog(c), registry(reg), options(std::move(o)) {
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
    rs.clears_only_when_final = rule.kind == ConditionKind::kThreshold &&
                                (rule.fire.op == Op::kGt || rule.fire.op == Op::kGe) && grows_while_open(rs.view, rule.value);
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
bool Evaluator::Impl::alert_labels(const Rule& rule, const std::vector<Label>& group, std::vector<Label>& out) const {
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

std::string Evaluator::Impl::key_of(const std::vector<Label>& labels) {
  std::string key;
  for (const Label& l : labels) append_key(key, l);
  return key;
}

std::uint32_t Evaluator::Impl::alert_for(RuleState& rs, const std::vector<Label>& labels, std::int64_t now) {
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

void Evaluator::Impl::touch(RuleState& rs, std::uint32_t alert) {
  Alert& a = rs.alerts[alert];
  if (!a.touched) {
    a.touched = true;
    rs.touched.push_back(alert);
  }
}
// ---------------------------------------------------------------- ingest

bool Evaluator::Impl::grows_while_open(const views::ViewConfig* view, const std::string& value) {
  if (view == nullptr) return false;
  for (const window::AggregationSpec& a : view->spec.aggregations) {
    if (a.name != value) continue;
    switch (a.kind) {
      case window::AggregationKind::kCount:
      case window::AggregationKind::kCountWhere:
      case window::AggregationKind::kDistinct:
      case window::AggregationKind::kMax: return true;
      case window::AggregationKind::kSum:  // values may be negative
      case window::AggregationKind::kMin:
      case window::AggregationKind::kMean:
      case window::AggregationKind::kLast:
      case window::AggregationKind::kQuantiles: return false;
    }
  }
  return false;
}

Ingest Evaluator::Impl::add(const WindowResult& r, TimePoint now_tp) {
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

Ingest Evaluator::Impl::apply(RuleState& rs, Series& s, const WindowResult& r, std::int64_t start, std::int64_t end,
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

  // A final result ranks above the early ones of its epoch (bit 31), also
  // from a producer that sets only the flag.
  const std::uint64_t revision = r.final ? (r.revision | kFinalRevision) : r.revision;
  bool changed = false;
  bool stale = false;
  bool new_records = false;
  auto pos = std::lower_bound(s.recent.begin(), s.recent.end(), start,
                              [](const Slot& a, std::int64_t t) { return a.start < t; });
  if (pos != s.recent.end() && pos->start == start && pos->end == end) {
    if (revision <= pos->revision) {
      stale = true;
    } else {
      new_records = r.count > pos->count;
      pos->revision = revision;
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
    slot.revision = revision;
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
        if (revision > h->revision) {
          h->revision = revision;
          h->value = v[static_cast<std::size_t>(rs.i_value)];
          changed = true;
        }
      } else if (start >= now - rule.baseline.period.count() - 2 * step) {
        s.history.insert(h, {start, revision, v[static_cast<std::size_t>(rs.i_value)]});
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
      // When the aggregator had read up to (replayed old results are old
      // news), and never past the window's end: its records are older. A
      // final published a window plus its lateness after its last record
      // said "heard at the watermark" and delayed a silence alert by that
      // much. (Exact: a heartbeat value, e.g. max of occurred_at.)
      const std::int64_t wm = to_epoch_ms(r.watermark);
      life = std::min(wm > 0 ? wm : now, end);
    }
    life = std::min(life, now);
    if (life > rs.feed_progress) {
      // The feed was out (nothing newer for half a silence or more): the
      // silences of its series count again from now on.
      const Absence& a = rule.kind == ConditionKind::kMembers ? *rule.members.absence : rule.absence;
      if (rs.feed_progress != kNever && life - rs.feed_progress >= a.silent_for.count() / 2) rs.feed_resumed = life;
      rs.feed_progress = life;
    }
    if (life > s.last_heard) {
      s.last_heard = life;
      changed = true;
    }
  }
  if (changed) return Ingest::kApplied;
  return stale ? Ingest::kStale : Ingest::kExpired;
}
// ---------------------------------------------------------------- housekeeping

void Evaluator::Impl::prune(RuleState& rs, std::int64_t now) {
  const Rule& rule = *rs.rule;
  const std::int64_t horizon = now - rule.grace.count();
  const std::int64_t history_from =
      rs.keeps_history ? now - rule.baseline.period.count() - 2 * std::max<std::int64_t>(rs.max_window, 1)
                       : std::numeric_limits<std::int64_t>::max();
  for (Series& s : rs.series) {
    // A rule that clears only on an ended window keeps the latest one while
    // it can still be the window before the current one.
    std::int64_t keep_end = std::numeric_limits<std::int64_t>::min();
    if (rs.clears_only_when_final) {
      for (const Slot& slot : s.recent) {
        if (slot.end <= horizon && ended_recently(slot, now, rule.grace.count())) keep_end = std::max(keep_end, slot.end);
      }
    }
    std::erase_if(s.recent, [&](const Slot& slot) { return slot.end <= horizon && slot.end != keep_end; });
    if (!s.history.empty() && s.history.front().start < history_from) {
      std::erase_if(s.history, [&](const HistoryEntry& h) { return h.start < history_from; });
    }
  }
}

}  // namespace ioc::rules
