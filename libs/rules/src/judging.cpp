// Evaluator, judging: each alert's verdict on the current window of its
// series (or on their silence), and the lifecycle steps it takes.
#include "evaluator_impl.hpp"

#include "ioc/rules/fingerprint.hpp"

namespace ioc::rules {

using namespace detail;

// ---------------------------------------------------------------- evaluation

const Slot* Evaluator::Impl::current(const Series& s, std::int64_t now, std::int64_t grace) {
  const Slot* best = nullptr;
  for (const Slot& slot : s.recent) {
    if (slot.end > now - grace && (best == nullptr || slot.end < best->end)) best = &slot;
  }
  return best;
}

std::optional<Verdict> Evaluator::Impl::ended_window_verdict(const RuleState& rs, const Alert& a,
                                                            std::int64_t now) const {
  double value = 0;
  bool any = false;
  for (std::uint32_t si : a.series) {
    const Slot* last = nullptr;  // the latest window that has ended
    for (const Slot& slot : rs.series[si].recent) {
      if (slot.end <= now && ended_recently(slot, now, rs.rule->grace.count()) && slot.has(rs.i_value) &&
          (last == nullptr || slot.end > last->end)) {
        last = &slot;
      }
    }
    if (last == nullptr) continue;
    value = combine(rs.rule->combine, value, last->v[static_cast<std::size_t>(rs.i_value)], !any);
    any = true;
  }
  if (!any) return std::nullopt;
  return judge(*rs.rule, value);
}

double Evaluator::Impl::combine(Combine c, double acc, double x, bool first) {
  if (first) return x;
  switch (c) {
    case Combine::kSum: return acc + x;
    case Combine::kMax: return std::max(acc, x);
    case Combine::kMin: return std::min(acc, x);
  }
  return acc;
}

/// The baseline of one series for a current window starting at `start`.
std::optional<double> Evaluator::Impl::series_baseline(const RuleState& rs, const Series& s, std::int64_t start,
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

Verdict Evaluator::Impl::judge(const Rule& rule, double x) {
  if (rule.fire.holds(x)) return Verdict::kFire;
  if (rule.clear.holds(x)) return Verdict::kClear;
  return Verdict::kHold;
}

/// Resets `e` for a new evaluation, keeping its buffers.
void Evaluator::Impl::reset(Evaluation& e) {
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

void Evaluator::Impl::collect_samples(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const {
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
bool Evaluator::Impl::wants_samples(const Alert& a, Verdict v) {
  return v == Verdict::kFire || a.lc.phase != Phase::kInactive;
}

void Evaluator::Impl::evaluate_values(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const {
  const Rule& rule = *rs.rule;
  e.threshold = rule.fire.value;
  e.clear_threshold = rule.clear.value;
  double value = 0;
  double den = 0;
  std::array<double, kMaxValues> req{};
  bool any = false;
  bool open = false;  // a window judged is not final yet
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
    open = open || !slot->final();
    if (window == nullptr || slot->end < window->end) window = slot;
  }
  if (!any) {
    // No current window: nothing to alert on, unless the count or maximum
    // of the window that just ended does not clear: the next window starts
    // at 0 and has no result until its first records are counted.
    const std::optional<Verdict> ended = rs.clears_only_when_final ? ended_window_verdict(rs, a, now) : std::nullopt;
    e.verdict = ended && *ended != Verdict::kClear ? Verdict::kHold : Verdict::kClear;
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
        // An open window's count or maximum only grows: it says nothing yet
        // about the incident's end. The window before it, once ended, does.
        if (e.verdict == Verdict::kClear && open && rs.clears_only_when_final &&
            ended_window_verdict(rs, a, now) != Verdict::kClear) {
          e.verdict = Verdict::kHold;
        }
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

namespace {

/// How long a series last heard at `heard` has been silent: on the clock,
/// or on its feed (up to the newest record of any series, and not through
/// the feed's own outage: its series count again from its return).
std::int64_t silence(const RuleState& rs, const Absence& a, std::int64_t heard, std::int64_t now) {
  if (a.on == SilenceOn::kClock || rs.feed_progress == kNever) return std::max<std::int64_t>(0, now - heard);
  return std::max<std::int64_t>(0, std::min(now, rs.feed_progress) - std::max(heard, rs.feed_resumed));
}

}  // namespace

void Evaluator::Impl::evaluate_absence(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const {
  const Rule& rule = *rs.rule;
  std::int64_t heard = kNever;
  for (std::uint32_t si : a.series) heard = std::max(heard, rs.series[si].last_heard);
  if (heard == kNever) heard = a.created_at;  // a view never heard from: silent since the alerter looked
  e.has_data = true;
  const std::int64_t silent = silence(rs, rule.absence, heard, now);
  e.value = static_cast<double>(silent) / 1000.0;
  e.threshold = e.clear_threshold = static_cast<double>(rule.absence.silent_for.count()) / 1000.0;
  e.window_end = from_epoch_ms(heard);
  e.verdict = silent >= rule.absence.silent_for.count() ? Verdict::kFire : Verdict::kClear;
}

void Evaluator::Impl::evaluate_members(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const {
  const Rule& rule = *rs.rule;
  e.threshold = rule.fire.value;
  e.clear_threshold = rule.clear.value;
  // Members of this group, each with its breach; series of one member merge.
  auto& members = member_scratch;
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
      breach = heard != kNever && silence(rs, *rule.members.absence, heard, now) >= rule.members.absence->silent_for.count();
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

void Evaluator::Impl::evaluate_one(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const {
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

void Evaluator::Impl::run(RuleState& rs, Alert& a, TimePoint now_tp, std::vector<AlertEvent>& out) {
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

void Evaluator::Impl::evaluate_all(TimePoint now_tp, std::vector<AlertEvent>& out) {
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

void Evaluator::Impl::evaluate_touched(TimePoint now_tp, std::vector<AlertEvent>& out) {
  for (RuleState& rs : states) {
    for (std::uint32_t ai : rs.touched) {
      Alert& a = rs.alerts[ai];
      a.touched = false;
      run(rs, a, now_tp, out);
    }
    rs.touched.clear();
  }
}

RuleState* Evaluator::Impl::state_of(std::string_view rule) {
  for (RuleState& rs : states) {
    if (rs.rule->name == rule) return &rs;
  }
  return nullptr;
}

bool Evaluator::Impl::restore(const AlertEvent& ev) {
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

}  // namespace ioc::rules
