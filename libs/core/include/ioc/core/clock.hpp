#pragma once
/// Clock: the only way logic reads time, in two readings (as Envoy's
/// TimeSource): wall-clock time for what is stamped on records and compared
/// with event times, and monotonic time for intervals, timers and deadlines
/// (it never jumps when the wall clock is set). Services inject SystemClock;
/// tests and replays drive a ManualClock. Both are thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ioc {

/// Milliseconds since the Unix epoch, UTC. Event time, window bounds and
/// watermarks all use this one unit.
using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;
using Millis = std::chrono::milliseconds;
/// A reading of a monotonic clock: only differences mean anything.
using MonotonicTime = std::chrono::steady_clock::time_point;

inline std::int64_t to_epoch_ms(TimePoint t) { return t.time_since_epoch().count(); }
inline TimePoint from_epoch_ms(std::int64_t ms) { return TimePoint(Millis(ms)); }

class Clock {
 public:
  virtual ~Clock() = default;
  /// Wall-clock time (UTC).
  virtual TimePoint now() const = 0;
  /// Monotonic time, for intervals and deadlines.
  virtual MonotonicTime monotonic() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
  }
  MonotonicTime monotonic() const override { return std::chrono::steady_clock::now(); }
  /// A process-wide instance, for main() to inject.
  static const SystemClock& instance() {
    static const SystemClock kClock;
    return kClock;
  }
};

/// A clock that moves only when told to. advance() moves both readings;
/// set() moves the wall clock only (it may go back, as a wall clock that is
/// set does), never the monotonic one. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = from_epoch_ms(1'700'000'000'000)) : ms_(to_epoch_ms(start)) {}
  TimePoint now() const override { return from_epoch_ms(ms_.load(std::memory_order_acquire)); }
  /// Starts at an hour past the steady clock's epoch, so that a default
  /// (zero) time point reads as long ago.
  MonotonicTime monotonic() const override {
    return MonotonicTime(std::chrono::hours(1)) + Millis(mono_ms_.load(std::memory_order_acquire));
  }
  void set(TimePoint t) { ms_.store(to_epoch_ms(t), std::memory_order_release); }
  void advance(Millis d) {
    ms_.fetch_add(d.count(), std::memory_order_acq_rel);
    mono_ms_.fetch_add(d.count(), std::memory_order_acq_rel);
  }

 private:
  std::atomic<std::int64_t> ms_;
  std::atomic<std::int64_t> mono_ms_{0};
};

}  // namespace ioc
