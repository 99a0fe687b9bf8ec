#pragma once
/// EventLog: the wall's Server-Sent Events, numbered, with the latest
/// content of every section, so that a client that reconnects resumes
/// cleanly.
///
/// A section (districts, kpis, alerts, ...) is published as a whole JSON
/// document; publishing the same content again makes no event. Each event
/// has the id "<epoch>-<seq>": `epoch` names this process's log (a restarted
/// wall has another), `seq` counts from 1. The last `max_events` events
/// (and at most `max_bytes` of them) are kept. A client reconnecting with
/// Last-Event-ID gets:
///   - the events after it, when they are all still kept (a replay);
///   - nothing, when it has seen the latest;
///   - otherwise (too old, another epoch, malformed, none) a snapshot event:
///     every section's latest content, with the latest event's id.
/// Since each event carries a whole section, a replay or a snapshot leaves
/// the client with exactly the content of the latest event.
///
/// Pure; not thread-safe (SseHub serialises access).

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ioc::wall {

class EventLog {
 public:
  EventLog(std::string epoch, std::size_t max_events, std::size_t max_bytes);

  /// One SSE message, ready to write ("id: …\nevent: …\ndata: …\n\n").
  struct Event {
    std::uint64_t seq = 0;
    std::string section;
    std::string frame;
  };

  /// Makes `data` (one line of JSON) the content of `section`. Returns the
  /// new event, or nullptr when the content did not change. `server_time_ms`
  /// goes into the event (clients correct their clock with it).
  const Event* publish(std::string_view section, std::string data, std::int64_t server_time_ms);

  struct Resume {
    bool snapshot = false;  // true: `frames` is one snapshot event
    std::vector<std::string> frames;
  };
  /// What a client that last saw `last_event_id` ("" for none) needs.
  Resume resume(std::string_view last_event_id, std::int64_t server_time_ms) const;

  /// Every section's latest content as one JSON object:
  /// {"last_event_id": …, "server_time": …, "sections": {name: content}}.
  std::string snapshot_json(std::int64_t server_time_ms) const;
  /// The snapshot as an SSE message (event "snapshot", the latest id).
  std::string snapshot_frame(std::int64_t server_time_ms) const;

  std::string id(std::uint64_t seq) const;
  std::string last_id() const { return id(seq_); }
  std::uint64_t last_seq() const { return seq_; }
  std::size_t kept_events() const { return events_.size(); }
  std::size_t kept_bytes() const { return bytes_; }

  /// The sequence number of an id of this log, or nullopt (another epoch, malformed).
  std::optional<std::uint64_t> parse_id(std::string_view id) const;

 private:
  std::string epoch_;
  std::size_t max_events_;
  std::size_t max_bytes_;
  std::uint64_t seq_ = 0;
  std::deque<Event> events_;
  std::size_t bytes_ = 0;
  std::map<std::string, std::string, std::less<>> sections_;
};

}  // namespace ioc::wall
