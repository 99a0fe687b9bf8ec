#pragma once
/// EpisodeHistory: every alert episode that fired (reached CAP), from its
/// first firing to its end, kept after the AlertBook forgets it — for
/// `GET /api/v1/episodes?from=&to=` and for reports over a period (a daily
/// summary for the leadership asks between(start of day, end of day)).
/// Bounded by a retention (episodes that ended longer ago are dropped) and
/// a count (the oldest ended ones go first). Survives restarts as the file
/// `episodes.history` in the alerter's state folder, written atomically
/// like the checkpoint whenever it changed.
///
/// Thread-safe (one mutex): the alerter's poll thread records, anyone
/// reads. No I/O; encode()/restore() give and take the file's bytes.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alert_book.hpp"
#include "ioc/core/result.hpp"

namespace ioc::alerter {

/// One episode as the history tells it.
struct EpisodeRecord {
  std::string id;  // the alert's episode id (as in /api/v1/alerts/{id})
  std::string fingerprint;
  std::string rule;
  std::string severity;
  std::vector<Label> labels;  // the alert's labels (alertname, severity, group labels, rule labels)
  TimePoint started{};         // its first firing
  std::optional<TimePoint> ended;  // nullopt: still firing
  double peak_value = 0;  // furthest past the threshold
  std::string peak_summary;
  double last_value = 0;
  std::string last_summary;
  /// Numbers of its CAP messages (served at cap_message_path() while the
  /// alerter keeps the episode: while active and for the resolved retention).
  std::vector<std::uint32_t> cap_messages;
  friend bool operator==(const EpisodeRecord&, const EpisodeRecord&) = default;
};

class EpisodeHistory {
 public:
  struct Limits {
    Millis retention{30LL * 86'400'000};
    std::size_t max_episodes = 10'000;
  };
  EpisodeHistory() : EpisodeHistory(Limits{}) {}
  explicit EpisodeHistory(Limits limits) : limits_(limits) {}

  void set_limits(Limits limits);

  /// Takes the current state of episode `ep`; an episode without CAP
  /// messages (pending, or never fired) is not history.
  void record(const AlertBook::Episode& ep);

  /// Episodes firing at some time within [from, to): started before `to`
  /// and not ended before `from`; ordered by start, then id.
  std::vector<EpisodeRecord> between(TimePoint from, TimePoint to) const;
  std::optional<EpisodeRecord> find(std::string_view id) const;
  std::size_t size() const;

  /// Drops episodes that ended more than the retention before `now`, then
  /// the oldest ended ones beyond the count.
  void prune(TimePoint now);

  /// True once since the last call when something changed (time to save).
  bool take_changed();
  std::string encode() const;
  /// Replaces the content with what encode() gave; an error for damaged bytes.
  [[nodiscard]] Status restore(std::string_view bytes);

 private:
  mutable std::mutex mu_;
  Limits limits_;
  std::map<std::string, EpisodeRecord, std::less<>> episodes_;  // by id
  bool changed_ = false;
};

}  // namespace ioc::alerter
