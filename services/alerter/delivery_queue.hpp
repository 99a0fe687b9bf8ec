#pragma once
/// DeliveryQueue: the alerts waiting to reach Alertmanager, one entry per
/// fingerprint (a newer event replaces an older one that was not sent yet:
/// Alertmanager only needs an alert's latest state). Sending takes the due
/// entries as a batch; a failed batch stays and everything waits out an
/// exponential backoff; a batch that succeeds leaves the queue unless a
/// newer event replaced an entry meanwhile.
///
/// Bounded: past `max_entries`, a re-send of a firing alert is dropped
/// (the next resend brings it again) and a first firing notification takes
/// the place of a queued re-send, or is dropped when there is none; a
/// resolution is always queued. Drops are counted by the caller from push().
///
/// Pure (time passed in); not thread-safe (the Notifier locks around it).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ioc/core/clock.hpp"
#include "ioc/core/model.hpp"

namespace ioc::alerter {

class DeliveryQueue {
 public:
  struct Options {
    std::size_t max_entries = 10'000;
    Millis backoff_min{500};
    Millis backoff_max{30'000};
  };
  explicit DeliveryQueue(Options options) : options_(options) {}

  enum class Push : std::uint8_t { kQueued, kReplaced, kDropped };
  /// `resend`: the alert was delivered before (a periodic re-send).
  Push push(const AlertEvent& e, bool resend);

  /// Up to `max` entries, oldest first, if sending is not backing off at `now`.
  std::vector<AlertEvent> take(TimePoint now, std::size_t max);
  /// The outcome of the last take().
  void done(bool ok, TimePoint now);

  /// When take() may next return something (nullopt: the queue is empty).
  std::optional<TimePoint> next_attempt() const;
  std::size_t size() const { return entries_.size(); }
  int consecutive_failures() const { return failures_; }

 private:
  struct Entry {
    AlertEvent event;
    std::uint64_t seq = 0;
    bool resend = false;
  };
  Options options_;
  std::map<std::string, Entry, std::less<>> entries_;  // by fingerprint
  std::vector<std::pair<std::string, std::uint64_t>> in_flight_;
  std::uint64_t next_seq_ = 1;
  int failures_ = 0;
  TimePoint retry_at_{};
};

}  // namespace ioc::alerter
