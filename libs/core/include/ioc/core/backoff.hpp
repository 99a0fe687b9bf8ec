#pragma once
/// Backoff: how long to wait before trying an operation again — exponential,
/// from `first` doubling up to `max` — and retry(), which tries until the
/// operation succeeds or the caller stops waiting. Time is the caller's:
/// retry() waits through the `pause` it is given (a condition variable that
/// a stop request wakes, in services; a recorder, in tests). Not
/// thread-safe: one owner.

#include <algorithm>
#include <functional>

#include "ioc/core/clock.hpp"

namespace ioc {

class Backoff {
 public:
  Backoff(Millis first, Millis max) : first_(first), max_(std::max(first, max)), next_(first) {}
  /// The delay before the next attempt; the one after it is twice as long.
  Millis next() {
    const Millis d = next_;
    next_ = std::min(next_ * 2, max_);
    return d;
  }
  /// After a success: the next failure waits `first` again.
  void reset() { next_ = first_; }

 private:
  Millis first_;
  Millis max_;
  Millis next_;
};

/// Calls `attempt` (returning an ioc::Result or Status) until it is ok,
/// pausing `backoff.next()` between failures. `pause(d)` waits `d` and
/// returns false when the caller stops: then the last failure is returned.
/// `backoff` is reset after a success.
template <typename Attempt>
auto retry(Attempt attempt, Backoff& backoff, const std::function<bool(Millis)>& pause) {
  auto r = attempt();
  while (!r.ok() && pause(backoff.next())) r = attempt();
  if (r.ok()) backoff.reset();
  return r;
}

}  // namespace ioc
