#pragma once
/// Peers: the other replicas a view query asks for the partitions they own
/// (`aggregator.peers`), so any replica answers for the whole group.
///
/// Peer URLs are parsed once, at start (a bad one is a config error). A
/// query asks every peer at once, asynchronously on the service's
/// io_context, with one deadline for all of them: the HTTP loop keeps
/// serving /metrics and /readyz meanwhile. A peer that does not answer in
/// time, answers with an error, or answers something that is not a view
/// answer is listed in "peer_errors" with a 502/504-style status; the
/// others' windows are merged. Thread-safe.

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ioc::aggregator {

struct Peer {
  std::string url;  // as configured
  std::string host;
  std::uint16_t port = 80;
  friend bool operator==(const Peer&, const Peer&) = default;
};

/// "http://host[:port][/]" (the scheme may be left out). Throws
/// ioc::ConfigError naming `key` for anything else.
Peer parse_peer(std::string_view url, const std::string& source, const std::string& key);

/// Adds one peer's answer (a view answer: "windows" and "partitions"
/// arrays) to `out`. False, with `out` unchanged, when it is not one.
bool merge_peer_answer(std::string_view body, boost::json::object& out);

class PeerQuery {
 public:
  PeerQuery(boost::asio::io_context& io, std::vector<Peer> peers, std::chrono::milliseconds timeout);

  bool empty() const { return peers_->empty(); }
  /// Asks every peer for `target` (this request's target; they answer it
  /// with local=1) and merges their windows and partitions into `answer`,
  /// this replica's own; `done` gets the result, with "peer_errors", on the
  /// io_context. Never blocks.
  void ask(const std::string& target, boost::json::object answer,
           std::function<void(boost::json::object)> done) const;

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<const std::vector<Peer>> peers_;  // shared with queries in flight
  std::chrono::milliseconds timeout_;
};

}  // namespace ioc::aggregator
