#pragma once
/// The alert rule model: what a rule file says, as plain validated structs.
/// A Rule names a view and aggregates of the aggregator (ioc.aggregates.v1),
/// which results it looks at (label matchers), how results form alerts
/// (group_by), the condition that fires it and the one that clears it
/// (hysteresis), timers, and what the alert says (severity, labels,
/// templated annotations, the operator's scenario, the FIWARE category).
///
/// Immutable once parsed (see parse.hpp); safe to share between threads.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ioc/core/clock.hpp"
#include "ioc/rules/template.hpp"

namespace ioc::rules {

enum class Op : std::uint8_t { kGt, kLt, kGe, kLe };

/// "> 20", "<= 0.8": a comparison of an evaluated value with a constant.
struct Comparison {
  Op op = Op::kGe;
  double value = 0;
  bool holds(double x) const {
    switch (op) {
      case Op::kGt: return x > value;
      case Op::kLt: return x < value;
      case Op::kGe: return x >= value;
      case Op::kLe: return x <= value;
    }
    return false;
  }
  /// The comparison that is true exactly when this one is false.
  Comparison negated() const;
  friend bool operator==(const Comparison&, const Comparison&) = default;
};

const char* to_string(Op op);
/// "> 20" style text (the value with up to 6 significant digits).
std::string to_string(const Comparison& c);

/// A result takes part in a rule when, for every matcher, its label `label`
/// has one of `values` (or none of them, when `negate`).
struct Matcher {
  std::string label;
  std::vector<std::string> values;
  bool negate = false;
  friend bool operator==(const Matcher&, const Matcher&) = default;
};

enum class Severity : std::uint8_t { kInfo, kWarning, kCritical };
const char* to_string(Severity s);

/// What the condition compares.
enum class ConditionKind : std::uint8_t {
  kThreshold,  // one aggregate of the current window
  kRatio,      // numerator / denominator, both aggregates of the current window
  kBaseline,   // an aggregate against its own past (same window a period ago, or a trailing mean)
  kAbsence,    // nothing heard from a series (or a whole view) for a while
  kMembers,    // how many members of a group (e.g. stations of a district) breach their own condition
};
const char* to_string(ConditionKind k);

/// How the series of one alert (results that differ only in labels the
/// rule does not group by) are combined into one value.
enum class Combine : std::uint8_t { kSum, kMax, kMin };
const char* to_string(Combine c);

struct Baseline {
  enum class Kind : std::uint8_t { kSameWindow, kTrailingMean };
  Kind kind = Kind::kSameWindow;
  /// kSameWindow: how far back (24h: the same window yesterday).
  /// kTrailingMean: the span averaged over, ending at the current window.
  Millis period{86'400'000};
  /// The baseline is at least this (a quiet district going from 0 to 2
  /// reports is not a surge).
  double floor = 1;
  friend bool operator==(const Baseline&, const Baseline&) = default;
};

/// What a silence is counted on (`silence_on:`).
enum class SilenceOn : std::uint8_t {
  /// The clock: "nothing heard for 10 minutes" of time. For a whole feed
  /// (a rule without group labels), whose silence is the incident.
  kClock,
  /// The feed's progress (the view's watermark, never past the clock): a
  /// series is silent once the rest of its view has moved on without it.
  /// For one station among many: while the whole feed is out, no station
  /// is silent on its own (the feed's rule reports the outage), and when
  /// it comes back, stations are not reported silent for the seconds
  /// before each one's next record.
  kFeed,
};

/// "Nothing heard for `silent_for`". The last sign of life of a series is
/// the largest value of `heartbeat` (epoch seconds, e.g. the aggregator's
/// `last_seen = max(occurred_at)`), or, when `heartbeat` is empty, the
/// processing time at which its last result arrived.
struct Absence {
  Millis silent_for{0};
  std::string heartbeat;
  SilenceOn on = SilenceOn::kClock;
  friend bool operator==(const Absence&, const Absence&) = default;
};

/// The member condition of a kMembers rule: each distinct value of `label`
/// among the alert's series is a member; it breaches when it is silent
/// (`absence`) or when its current `value` satisfies `when`.
struct Members {
  std::string label;
  std::optional<Absence> absence;
  std::string value;
  Comparison when;
  friend bool operator==(const Members&, const Members&) = default;
};

/// A guard on another aggregate of the same window, e.g. count >= 30 before
/// an online ratio means anything. While a guard fails the alert keeps its
/// state: a pending alert goes back to inactive, a firing one neither
/// resolves nor counts towards its clear timer.
struct Requirement {
  std::string value;
  Comparison cmp;
  friend bool operator==(const Requirement&, const Requirement&) = default;
};

/// Who may see a rule's alerts as CAP 1.2 messages: the public (hazards:
/// floods, water levels, mobile coverage) or, Restricted, the operations
/// center and the agencies it reports to (internal KPIs, the system's own
/// feeds), which public-warning hubs must not relay.
enum class CapScope : std::uint8_t { kPublic, kRestricted };
/// "Public", "Restricted": CAP's <scope>.
const char* to_string(CapScope s);

/// While an alert of `source_rule` fires, the active alerts of
/// `target_rules` with the same values of the `equal` labels (a label
/// missing on both sides counts as equal) belong to its incident:
/// Alertmanager mutes their notifications (inhibit_rules in
/// deploy/alertmanager/alertmanager.yml state the same relation), and the
/// alerter's API and the wall fold them into the source's card; the
/// alerter's pipeline holds a source's resolution back from Alertmanager
/// while its targets still fire. Written as the source rule's `inhibits:`;
/// see inhibition.hpp.
struct Inhibition {
  std::string source_rule;
  std::vector<std::string> target_rules;
  std::vector<std::string> equal;
  friend bool operator==(const Inhibition&, const Inhibition&) = default;
};

/// Where a rule was written, for messages.
struct SourceLocation {
  std::string file;
  int line = 0;  // 1-based; 0 unknown
  friend bool operator==(const SourceLocation&, const SourceLocation&) = default;
};

struct Rule {
  std::string name;
  SourceLocation where;
  std::string view;
  std::vector<Matcher> match;
  /// Labels of the alert (and its fingerprint); nullopt: every group label
  /// of the view.
  std::optional<std::vector<std::string>> group_by;
  Combine combine = Combine::kSum;

  ConditionKind kind = ConditionKind::kThreshold;
  std::string value;        // kThreshold, kBaseline: the aggregate; kRatio: the numerator
  std::string denominator;  // kRatio
  Baseline baseline;        // kBaseline
  Absence absence;          // kAbsence
  Members members;          // kMembers
  /// Fires when true (kThreshold, kRatio, kMembers: on the value; kBaseline:
  /// on value / baseline). Not used by kAbsence.
  Comparison fire;
  /// A firing alert resolves only once this holds (for keep_firing_for).
  /// Defaults to fire.negated().
  Comparison clear;
  std::vector<Requirement> require;

  Millis for_{0};              // pending this long before firing
  Millis keep_firing_for{0};   // the clear condition must hold this long before resolving
  /// How long a window stays the current one after its end (its successor's
  /// first result may take a moment to arrive).
  Millis grace{15'000};

  Severity severity = Severity::kWarning;
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::pair<std::string, Template>> annotations;  // summary, description, ...
  Template scenario;  // what the operator should do (CAP instruction)
  /// FIWARE Smart Data Models Alert category / subCategory. With
  /// `category_from_label` set, they come from the registry entry of the
  /// report category named by that label (e.g. flood -> naturalDisaster/flood).
  std::string category;
  std::string sub_category;
  std::string category_from_label;
  /// CAP 1.2 <info><category> (Met, Geo, Infra, ...); derived from
  /// `category` when empty. And the CAP <event>.
  std::string cap_category;
  std::string event;
  /// `cap: {scope: public | restricted, restriction: text}`; the restriction
  /// (CAP <restriction>) has a default text when restricted.
  CapScope cap_scope = CapScope::kPublic;
  std::string cap_restriction;
  /// The alerts this rule's firing alerts inhibit (source_rule: this rule).
  std::vector<Inhibition> inhibits;

  /// Hash of everything that decides the rule's state (not its texts): state
  /// saved for a rule is only restored into a rule with the same hash.
  std::uint64_t state_hash() const;
};

/// The rules of one or more files, in order; names are unique.
struct RuleSet {
  std::vector<Rule> rules;
  const Rule* find(std::string_view name) const;
  /// Every rule's `inhibits`, in rule order.
  std::vector<Inhibition> inhibitions() const;
};

}  // namespace ioc::rules
