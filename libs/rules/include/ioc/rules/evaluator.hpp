#pragma once
/// Evaluator: the rules of one alerter over the aggregator's window results.
///
/// One idea: every rule keeps, per *series* (a distinct group of a view's
/// results), the latest revision of each recent window, and an alert (a
/// fingerprint: rule + group_by labels) is judged on the *current window*
/// of its series — the window with the earliest end that has not been over
/// for longer than the rule's `grace`. Early revisions therefore raise an
/// alert before their window closes; a lower revision never overrides a
/// higher one, whatever order they arrive in; a window that ends with no
/// successor leaves the alert without data, which clears it (a result that
/// never arrives cannot keep an alert firing); silence itself is what
/// absence rules judge. Each alert's Lifecycle turns verdicts into
/// transitions, which come out as AlertEvents ready to publish.
///
/// Pure: results and the evaluation time are passed in; no clock, no I/O.
/// Deterministic: the same calls give the same events in the same order.
/// State can be saved (snapshot()) with the input offsets it covers and
/// restored; an alert's lifecycle can also be restored from its last
/// published event (restore()). Not thread-safe: one owner thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ioc/core/model.hpp"
#include "ioc/core/registry.hpp"
#include "ioc/core/result.hpp"
#include "ioc/rules/lifecycle.hpp"
#include "ioc/rules/rule.hpp"
#include "ioc/views/catalog.hpp"

namespace ioc::rules {

struct EvaluatorOptions {
  /// A firing alert whose value changed publishes an update (a FIRING event
  /// with the next revision; CAP msgType Update) at most this often; 0: never.
  Millis update_interval{0};
  /// Source record ids carried as evidence per alert.
  std::size_t max_sample_ids = 10;
  /// Members named in an alert (kMembers rules).
  std::size_t max_members = 20;
  /// The alert channel's category (the `cap_category` annotation) of an
  /// event whose rule names none, from its FIWARE category and sub-category.
  /// The channel decides its own vocabulary; empty: no such annotation.
  std::function<std::string(const std::string& category, const std::string& sub_category)> cap_category;
};

/// What add() did with one result.
enum class Ingest : std::uint8_t {
  kApplied,    // at least one rule took it
  kStale,      // every rule that matched already had this or a higher revision of the window
  kExpired,    // its window ended long ago: only a baseline history could use it, and none does
  kUnmatched,  // no rule looks at this view and these labels
  kInvalid,    // not a usable result: a value is NaN or infinite, or the window ends before it starts
};
const char* to_string(Ingest i);

/// An alert's latest evaluation.
struct Evaluation {
  Verdict verdict = Verdict::kClear;
  bool has_data = false;  // false: no current window (or nothing ever heard)
  double value = 0;
  double threshold = 0;        // what `value` is compared with to fire
  double clear_threshold = 0;  // ... and to clear
  std::optional<double> baseline;
  TimePoint window_start{};
  TimePoint window_end{};
  std::vector<std::string> sample_ids;
  std::vector<std::string> members;  // breaching members (kMembers)
};

/// One alert as the API shows it.
struct AlertStatus {
  const Rule* rule = nullptr;
  std::string fingerprint;
  std::vector<Label> labels;  // group labels
  Lifecycle lifecycle;
  Evaluation evaluation;
};

struct EvaluatorStats {
  std::uint64_t evaluations = 0;  // alert evaluations done
  std::size_t series = 0;
  std::size_t alerts = 0;
  std::size_t windows = 0;
  std::size_t history = 0;
};

class Evaluator {
 public:
  /// `catalog` and `registry` may be null (then: window shapes come from
  /// the results, and names and categories are not looked up). Both, when
  /// given, must outlive the Evaluator.
  Evaluator(RuleSet rules, const views::Catalog* catalog, const Registry* registry, EvaluatorOptions options = {});
  ~Evaluator();
  Evaluator(Evaluator&&) noexcept;
  Evaluator& operator=(Evaluator&&) noexcept;

  const RuleSet& rules() const;

  /// Takes one result into every rule that matches it; `now` is the
  /// processing time (sign of life of absence rules without a heartbeat).
  Ingest add(const WindowResult& result, TimePoint now);

  /// Evaluates the alerts whose series add() changed since the last
  /// evaluation; appends transitions (and updates) to `out`.
  void evaluate_touched(TimePoint now, std::vector<AlertEvent>& out);
  /// Evaluates every alert (timers, windows ending, silence), and forgets
  /// windows and history no rule can use any more.
  void evaluate_all(TimePoint now, std::vector<AlertEvent>& out);

  /// Alerts that are pending or firing.
  std::vector<AlertStatus> active() const;

  /// The producer of the results started its revisions over (a broker that
  /// lost its log, and an aggregator recomputing from nothing): from now on
  /// the next result of a known window replaces it whatever its revision.
  void forget_revisions();

  /// Takes an alert's last published event as its lifecycle, unless this
  /// evaluator already knows a later one. False when no rule of that name
  /// exists or the labels do not form that fingerprint under it (the rule
  /// changed): the caller should then resolve the alert itself.
  bool restore(const AlertEvent& last);

  /// Everything the rules keep (windows, history, silence, lifecycles),
  /// versioned and checksummed. Rules restore by name; a rule whose
  /// definition changed keeps its alerts' lifecycles but not its windows.
  std::string snapshot() const;
  [[nodiscard]] Status restore_snapshot(std::string_view bytes);

  EvaluatorStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A value as templates show it: integers without decimals, others with up
/// to three ("0.75", "3.5", "12").
std::string format_value(double v);
/// "90s", "12m", "2h5m".
std::string format_duration(Millis d);

}  // namespace ioc::rules
