#pragma once
// What the Server shares with its sessions (one per connection, in
// session.cpp): the acceptor, options, routes and the live sessions.
// Private to the library.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ioc/http/server.hpp"

namespace ioc::http {

struct ServerState {
  explicit ServerState(boost::asio::io_context& context) : io(context), acceptor(context) {}
  boost::asio::io_context& io;
  boost::asio::ip::tcp::acceptor acceptor;
  ServerOptions options;
  Router router;
  std::function<void(const Completed&)> observer;
  std::function<void(const Refused&)> refusal_observer;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  std::unordered_map<std::string, std::size_t> per_address;  // open connections by client address

  std::size_t open() {
    std::lock_guard lock(mu);
    return sessions.size();
  }
};


/// Registers a session for the accepted `socket` (from `address`) in
/// `state` and starts it; "" when it started, else why it was refused
/// ("connections", "address": the socket is closed).
std::string_view start_session(boost::asio::ip::tcp::socket socket, const std::string& address,
                               const std::shared_ptr<ServerState>& state);

/// Closes the sessions of `state` that wait for a request (Server::stop);
/// the others close when their response is written.
void close_idle_sessions(ServerState& state);

}  // namespace ioc::http
