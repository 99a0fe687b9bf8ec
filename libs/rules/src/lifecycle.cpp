#include "ioc/rules/lifecycle.hpp"

#include <algorithm>

namespace ioc::rules {

const char* to_string(Phase p) {
  switch (p) {
    case Phase::kInactive: return "inactive";
    case Phase::kPending: return "pending";
    case Phase::kFiring: return "firing";
  }
  return "?";
}

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::kFire: return "fire";
    case Verdict::kHold: return "hold";
    case Verdict::kClear: return "clear";
    case Verdict::kUnknown: return "unknown";
  }
  return "?";
}

const char* to_string(Step s) {
  switch (s) {
    case Step::kNone: return "none";
    case Step::kPending: return "pending";
    case Step::kFiring: return "firing";
    case Step::kCanceled: return "canceled";
    case Step::kResolved: return "resolved";
  }
  return "?";
}

Step Lifecycle::step(Verdict v, TimePoint now, Millis for_duration, Millis keep_firing_for) {
  // Time only moves forward for an alert, whatever order evaluations come in.
  now = std::max({now, active_at, fired_at, clearing ? clear_since : TimePoint{}});
  switch (phase) {
    case Phase::kInactive:
      if (v != Verdict::kFire) return Step::kNone;
      active_at = now;
      clearing = false;
      revision = 0;
      if (for_duration.count() <= 0) {
        phase = Phase::kFiring;
        fired_at = now;
        return Step::kFiring;
      }
      phase = Phase::kPending;
      return Step::kPending;
    case Phase::kPending:
      if (v == Verdict::kClear) {
        phase = Phase::kInactive;
        return Step::kCanceled;
      }
      // Inside the hysteresis band, or nothing to judge yet (a young
      // window): still pending, and only a fire verdict can end the wait.
      if (v != Verdict::kFire || now - active_at < for_duration) return Step::kNone;
      phase = Phase::kFiring;
      fired_at = now;
      return Step::kFiring;
    case Phase::kFiring:
      switch (v) {
        case Verdict::kFire:
        case Verdict::kHold:
        case Verdict::kUnknown:
          clearing = false;
          return Step::kNone;
        case Verdict::kClear:
          if (!clearing) {
            clearing = true;
            clear_since = now;
          }
          if (now - clear_since < keep_firing_for) return Step::kNone;
          phase = Phase::kInactive;
          clearing = false;
          return Step::kResolved;
      }
      return Step::kNone;
  }
  return Step::kNone;
}

}  // namespace ioc::rules
