#pragma once
// The Evaluator's state and its parts, shared by the files that implement
// it: series.cpp (keeping each series' windows, history and silence),
// judging.cpp (verdicts and lifecycles), rendering.cpp (alert events) and
// snapshot.cpp (saving and restoring the state). Private to the library.

#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ioc/rules/evaluator.hpp"

namespace ioc::rules {

namespace detail {

constexpr std::size_t kMaxValues = 8;
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();

inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
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
  bool final() const { return (revision & kFinalRevision) != 0; }
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
  /// A threshold that fires on high values of an aggregate that only grows
  /// while its window is open (a count): an open window's value proves a
  /// breach, never its end (each window starts at 0).
  bool clears_only_when_final = false;
  Index series_by_key;
  std::vector<Series> series;
  Index alert_by_key;
  std::vector<Alert> alerts;
  std::vector<std::uint32_t> touched;
  std::int64_t observing_since = kNever;
  /// The newest sign of life of any of the rule's series (never past the
  /// clock): how far its feed has moved on (SilenceOn::kFeed), and when it
  /// last came back from an outage.
  std::int64_t feed_progress = kNever;
  std::int64_t feed_resumed = kNever;
  std::int64_t max_window = 0;  // longest window seen (for pruning history)
};

inline int add_name(RuleState& rs, const std::string& name) {
  if (name.empty()) return -1;
  for (std::size_t i = 0; i < rs.names.size(); ++i) {
    if (rs.names[i] == name) return static_cast<int>(i);
  }
  rs.names.push_back(name);
  return static_cast<int>(rs.names.size() - 1);
}

inline const std::string* label_value(const std::vector<Label>& labels, std::string_view name) {
  for (const Label& l : labels) {
    if (l.name == name) return &l.value;
  }
  return nullptr;
}

inline bool matches(const Rule& rule, const std::vector<Label>& labels) {
  for (const Matcher& m : rule.match) {
    const std::string* v = label_value(labels, m.label);
    const bool in = v != nullptr && std::find(m.values.begin(), m.values.end(), *v) != m.values.end();
    if (in == m.negate) return false;
  }
  return true;
}

inline void append_key(std::string& key, const Label& l) {
  key += l.name;
  key += '\x1e';
  key += l.value;
  key += '\x1f';
}

}  // namespace detail

/// The Evaluator's state; its methods are spread over the files named above.
struct Evaluator::Impl {
  using RuleState = detail::RuleState;
  using Series = detail::Series;
  using Slot = detail::Slot;
  using Alert = detail::Alert;

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
  mutable std::vector<MemberState> member_scratch;


  // ----- series.cpp: rules by view, alerts by labels, and what results change
  Impl(RuleSet r, const views::Catalog* c, const Registry* reg, EvaluatorOptions o);
  /// The alert labels of a result under a rule; false when it lacks one.
  bool alert_labels(const Rule& rule, const std::vector<Label>& group, std::vector<Label>& out) const;
  static std::string key_of(const std::vector<Label>& labels);
  std::uint32_t alert_for(RuleState& rs, const std::vector<Label>& labels, std::int64_t now);
  /// Restoring a changed rule: attaches the series `s` of the old definition
  /// to the new one with only its silence (last_heard); false when it was
  /// never heard from or no longer fits the rule.
  bool keep_silence(RuleState& rs, Series& s);
  /// Whether the view's aggregate `value` only grows as records arrive.
  static bool grows_while_open(const views::ViewConfig* view, const std::string& value);
  void touch(RuleState& rs, std::uint32_t alert);
  Ingest add(const WindowResult& r, TimePoint now_tp);
  Ingest apply(RuleState& rs, Series& s, const WindowResult& r, std::int64_t start, std::int64_t end, std::int64_t now);
  /// Forgets windows and history no rule can use any more.
  void prune(RuleState& rs, std::int64_t now);

  // ----- judging.cpp: verdicts, lifecycles and restored lifecycles
  static const Slot* current(const Series& s, std::int64_t now, std::int64_t grace);
  /// A window that ended at most its own length (and grace) ago: it can be
  /// the one before the current window.
  static bool ended_recently(const Slot& slot, std::int64_t now, std::int64_t grace) {
    return slot.end > now - (slot.end - slot.start) - grace;
  }
  /// The verdict of the latest ended window of the alert's series (none
  /// when no window ended within a window length and grace).
  std::optional<Verdict> ended_window_verdict(const RuleState& rs, const Alert& a, std::int64_t now) const;
  static double combine(Combine c, double acc, double x, bool first);
  /// The baseline of one series for a current window starting at `start`.
  std::optional<double> series_baseline(const RuleState& rs, const Series& s, std::int64_t start,
                                        std::int64_t step) const;
  static Verdict judge(const Rule& rule, double x);
  /// Resets `e` for a new evaluation, keeping its buffers.
  static void reset(Evaluation& e);
  void collect_samples(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const;
  static bool wants_samples(const Alert& a, Verdict v);
  void evaluate_values(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const;
  void evaluate_absence(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const;
  void evaluate_members(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const;
  void evaluate_one(const RuleState& rs, const Alert& a, std::int64_t now, Evaluation& e) const;
  void run(RuleState& rs, Alert& a, TimePoint now_tp, std::vector<AlertEvent>& out);
  void evaluate_all(TimePoint now_tp, std::vector<AlertEvent>& out);
  void evaluate_touched(TimePoint now_tp, std::vector<AlertEvent>& out);
  RuleState* state_of(std::string_view rule);
  bool restore(const AlertEvent& ev);

  // ----- rendering.cpp: alert events
  std::optional<std::string> lookup(const RuleState& rs, const Alert& a, std::string_view name) const;
  AlertEvent make_event(const RuleState& rs, Alert& a, AlertEvent::State state, TimePoint now);

  // ----- snapshot.cpp
  std::string snapshot() const;
  Status restore_snapshot(std::string_view bytes);
};

}  // namespace ioc::rules
