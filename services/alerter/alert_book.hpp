#pragma once
/// AlertBook: what the alerter has published — the latest event of every
/// fingerprint and, per firing episode, its first firing event (the message
/// a CAP Update or Cancel references). The active set of the API, the
/// alerts Alertmanager must hear about, and what a restart rebuilds from
/// ioc.alerts.v1 and the checkpoint.
///
/// Not thread-safe: owned by the alerter's poll thread (the HTTP API reads
/// an immutable AlertView copied from it).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ioc/core/model.hpp"

namespace ioc::alerter {

/// True when `a` was decided after `b` (sent_at, then revision).
bool newer(const AlertEvent& a, const AlertEvent& b);

class AlertBook {
 public:
  struct Episode {
    AlertEvent latest;
    std::optional<AlertEvent> first_firing;
  };

  /// Takes `e` unless an event at least as new is known for its
  /// fingerprint (or episode). Returns whether the fingerprint's latest changed.
  bool record(const AlertEvent& e);

  const AlertEvent* latest(std::string_view fingerprint) const;
  const Episode* episode(std::string_view id) const;

  /// Pending and firing alerts, by fingerprint.
  std::vector<AlertEvent> active() const;
  /// What Alertmanager must know now: firing alerts, and alerts resolved
  /// less than `retention` ago (re-sent, so that a lost resolution or a
  /// restart never leaves one firing there).
  std::vector<AlertEvent> notifiable(TimePoint now, Millis retention) const;
  /// Forgets fingerprints and episodes that ended more than `retention` ago.
  void prune(TimePoint now, Millis retention);

  /// Every event kept (episodes' first firing events first), for checkpoints.
  std::vector<AlertEvent> events() const;
  const std::map<std::string, Episode, std::less<>>& episodes() const { return episodes_; }
  std::size_t size() const { return latest_.size(); }

 private:
  std::map<std::string, AlertEvent, std::less<>> latest_;  // by fingerprint
  std::map<std::string, Episode, std::less<>> episodes_;   // by id
};

}  // namespace ioc::alerter
