#include "ioc/http/server.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "ioc/core/log.hpp"
#include "session.hpp"

namespace ioc::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// ---------------------------------------------------------------- Server

namespace {

void accept(const std::shared_ptr<ServerState>& state) {
  state->acceptor.async_accept(asio::make_strand(state->io), [state](boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (!state->acceptor.is_open() || state->stopping.load()) return;
      log::warn("http accept failed", {{"error", ec.message()}});
    } else if (state->open() >= state->options.max_connections) {
      log::warn("http connection limit reached",
                {{"limit", static_cast<std::int64_t>(state->options.max_connections)}});
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      start_session(std::move(socket), state);
    }
    if (state->acceptor.is_open() && !state->stopping.load()) accept(state);
  });
}

}  // namespace

Server::Server(asio::io_context& io, ServerOptions options, Router router)
    : state_(std::make_shared<ServerState>(io)) {
  state_->options = std::move(options);
  state_->router = std::move(router);
}

Server::~Server() { stop(); }

void Server::set_observer(std::function<void(const Completed&)> observer) { state_->observer = std::move(observer); }

void Server::start() {
  const tcp::endpoint ep(asio::ip::make_address(state_->options.host), state_->options.port);
  tcp::acceptor& a = state_->acceptor;
  a.open(ep.protocol());
  a.set_option(tcp::acceptor::reuse_address(true));
  a.bind(ep);
  a.listen(asio::socket_base::max_listen_connections);
  port_ = a.local_endpoint().port();
  accept(state_);
}

void Server::stop() {
  if (state_->stopping.exchange(true)) return;
  // The acceptor belongs to the loop's thread: close it there.
  asio::post(state_->io, [state = state_] {
    boost::system::error_code ignored;
    state->acceptor.close(ignored);
  });
  close_idle_sessions(*state_);
}

std::size_t Server::open_connections() const { return state_->open(); }

}  // namespace ioc::http
