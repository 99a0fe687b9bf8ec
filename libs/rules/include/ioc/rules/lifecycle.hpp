#pragma once
/// The life of one alert (one fingerprint): inactive → pending → firing →
/// resolved (→ inactive), driven by one verdict per evaluation and the
/// evaluation time. Pure and deterministic: the same verdicts at the same
/// times give the same steps.
///
///   inactive --fire--> pending (or firing at once when `for` is 0)
///   pending  --fire, held for `for`--> firing
///   pending  --clear--> inactive ("canceled": never notified); hold (the
///            hysteresis band) and unknown (nothing to judge yet, e.g. an
///            hour just begun) keep it pending: no pending/inactive churn
///   firing   --clear, held for `keep_firing_for`--> resolved
///   firing   --fire | hold | unknown--> firing (the clear timer restarts)
///
/// `clear` is the rule's separate clear condition: a value between the
/// fire and clear thresholds ("hold") keeps a firing alert firing, so a
/// value hovering at the threshold does not flap.

#include <cstdint>
#include <limits>

#include "ioc/core/clock.hpp"

namespace ioc::rules {

enum class Phase : std::uint8_t { kInactive, kPending, kFiring };
const char* to_string(Phase p);

/// What one evaluation of a rule's condition says about an alert.
enum class Verdict : std::uint8_t {
  kFire,     // the fire condition holds
  kHold,     // neither fire nor clear holds (between the thresholds)
  kClear,    // the clear condition holds, or there is no current data at all
  kUnknown,  // data that cannot decide: a failed requirement (too few records), no baseline yet
};
const char* to_string(Verdict v);

enum class Step : std::uint8_t {
  kNone,
  kPending,   // inactive → pending
  kFiring,    // inactive or pending → firing
  kCanceled,  // pending → inactive without firing
  kResolved,  // firing → inactive
};
const char* to_string(Step s);

struct Lifecycle {
  Phase phase = Phase::kInactive;
  TimePoint active_at{};    // this episode began (pending, or firing at once)
  TimePoint fired_at{};     // it fired
  TimePoint clear_since{};  // the clear condition holds since (while clearing)
  bool clearing = false;
  /// The last event published for this alert, and the episode's revision
  /// (1, 2, ... per event of one episode).
  TimePoint last_event_at{};
  std::uint32_t revision = 0;
  double last_value = std::numeric_limits<double>::quiet_NaN();

  /// Applies one verdict at `now`. Never goes back in time: a `now` earlier
  /// than the last step is treated as equal to it.
  Step step(Verdict v, TimePoint now, Millis for_duration, Millis keep_firing_for);

  friend bool operator==(const Lifecycle& a, const Lifecycle& b) {
    return a.phase == b.phase && a.active_at == b.active_at && a.fired_at == b.fired_at &&
           a.clear_since == b.clear_since && a.clearing == b.clearing && a.last_event_at == b.last_event_at &&
           a.revision == b.revision;
  }
};

}  // namespace ioc::rules
