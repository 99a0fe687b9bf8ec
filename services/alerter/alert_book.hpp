#pragma once
/// AlertBook: what the alerter has published — the latest event of every
/// fingerprint and, per episode, its first firing event, its peak (the
/// firing event furthest past the threshold) and the CAP messages issued
/// for it (cap.hpp decides which). The active set of the API, the alerts
/// Alertmanager must hear about, and what a restart rebuilds from
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

/// CAP 1.2 <msgType> of a message of an episode.
enum class CapMsgType : std::uint8_t { kAlert, kUpdate, kCancel };
const char* to_string(CapMsgType t);

/// One CAP message as issued: its number in the episode (1, 2, ...; the
/// CAP identifier and the URL .../cap/{n} derive from it), its type, when
/// it was sent, and the event whose state it tells (an Update: the
/// episode's peak; a Cancel: the resolution). Immutable once issued, so a
/// message's URL always answers the same document.
struct CapMessage {
  std::uint32_t n = 0;
  CapMsgType type = CapMsgType::kAlert;
  TimePoint sent{};
  AlertEvent event;
  friend bool operator==(const CapMessage&, const CapMessage&) = default;
};

/// True when `a` is further past the threshold than `b` (larger for > and
/// >=, smaller for < and <=): the event that keeps an alert firing.
bool further(const AlertEvent& a, const AlertEvent& b);

class AlertBook {
 public:
  struct Episode {
    AlertEvent latest;
    std::optional<AlertEvent> first_firing;
    std::optional<AlertEvent> peak;
    /// At most kMaxCapMessages: the first one and the latest others.
    std::vector<CapMessage> cap;
    const CapMessage* cap_message(std::uint32_t n) const;
  };
  static constexpr std::size_t kMaxCapMessages = 32;

  /// Takes `e` unless an event at least as new is known for its
  /// fingerprint (or episode). Returns whether the fingerprint's latest changed.
  bool record(const AlertEvent& e);

  /// Adds a message to its episode (known from its event), unless one with
  /// its number is there; drops the second oldest beyond kMaxCapMessages.
  void add_cap(const CapMessage& m);

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
  /// Every CAP message kept, per episode in order, for checkpoints.
  std::vector<CapMessage> cap_messages() const;
  const std::map<std::string, Episode, std::less<>>& episodes() const { return episodes_; }
  std::size_t size() const { return latest_.size(); }

 private:
  std::map<std::string, AlertEvent, std::less<>> latest_;  // by fingerprint
  std::map<std::string, Episode, std::less<>> episodes_;   // by id
};

}  // namespace ioc::alerter
