#pragma once
/// SseHub: the wall's Server-Sent Events clients and the EventLog they
/// read. publish() turns changed sections into events and writes each to
/// every client; attach() starts a client where its Last-Event-ID left off
/// (a replay of the missed events, or a snapshot). A client that cannot
/// keep up — its sink refuses bytes because its bounded buffer is full — is
/// dropped; the event loop never waits for anyone.
///
/// Thread-safe: every call takes one mutex. Sinks must not call back into
/// the hub from send() or close().

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "event_log.hpp"

namespace ioc::wall {

/// Where a client's bytes go (an HTTP stream in the service, a fake in tests).
class EventSink {
 public:
  virtual ~EventSink() = default;
  /// Queues bytes for the client without blocking; false when the client is
  /// gone or its buffer would overflow (it is then dropped).
  virtual bool send(std::string bytes) = 0;
  /// Ends the client's stream once what is queued is written.
  virtual void close() = 0;
};

struct SseOptions {
  std::size_t max_clients = 64;
  std::size_t max_clients_per_address = 8;  // one address cannot take every stream
  std::size_t replay_events = 4096;           // events kept for Last-Event-ID
  std::size_t replay_bytes = 2 << 20;         // and at most this many bytes of them
  std::size_t client_buffer_bytes = 4 << 20;  // per client, then it is dropped
  std::chrono::milliseconds keepalive{15'000};
  std::chrono::milliseconds retry{2'000};     // the reconnect delay clients are told
  std::chrono::milliseconds write_timeout{10'000};
};

class SseHub {
 public:
  SseHub(std::string epoch, const SseOptions& options);

  enum class Attached : std::uint8_t { kOk, kTooMany, kGone };
  struct Attach {
    Attached outcome = Attached::kOk;
    bool snapshot = false;   // the client got a snapshot (not a replay)
    std::size_t events = 0;  // events replayed (or 1 for the snapshot)
  };
  /// Adds a client that last saw `last_event_id` ("" for a new one), from
  /// `address`: kTooMany past max_clients, or past max_clients_per_address
  /// streams from that address.
  Attach attach(std::shared_ptr<EventSink> sink, std::string_view last_event_id, std::int64_t now_ms,
                std::string_view address = {});
  /// Forgets a client (its stream ended).
  void detach(const EventSink* sink);

  struct Published {
    std::size_t events = 0;   // sections that changed
    std::size_t dropped = 0;  // clients dropped because they could not take them
  };
  /// Publishes sections (name, JSON text); unchanged ones make no event.
  Published publish(const std::vector<std::pair<std::string, std::string>>& sections, std::int64_t now_ms);
  /// A comment line to every client, so proxies and clients see the stream
  /// alive; returns the clients dropped.
  std::size_t keep_alive();
  /// Ends every client's stream (at shutdown).
  void close_all();

  std::size_t clients() const;
  /// Clients from `address`.
  std::size_t clients_from(std::string_view address) const;
  /// The latest content of every section (for /api/v1/state).
  std::string snapshot_json(std::int64_t now_ms) const;
  std::string last_event_id() const;

 private:
  /// Writes `bytes` to every client; drops those that refuse. Locked.
  std::size_t broadcast(const std::string& bytes);

  SseOptions options_;
  mutable std::mutex mu_;
  EventLog log_;
  struct Client {
    std::shared_ptr<EventSink> sink;
    std::string address;
  };
  std::size_t from(std::string_view address) const;  // locked
  std::vector<Client> clients_;
};

}  // namespace ioc::wall
