#include "ioc/http/server.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <string>
#include <unordered_map>

#include "ioc/core/log.hpp"
#include "session.hpp"

namespace ioc::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// ---------------------------------------------------------------- Server

namespace {

/// Refusals are logged at most once a minute per address, with how many
/// there were since: whoever opens connections must not set the log volume.
/// Used by the one pending accept's handler at a time.
class RefusalLog {
 public:
  void note(const std::string& address, std::string_view reason, std::size_t limit) {
    const auto now = std::chrono::steady_clock::now();
    if (last_.size() > kMaxAddresses) last_.clear();
    auto [it, fresh] = last_.try_emplace(address, Entry{now, 0});
    if (!fresh && now - it->second.logged < kInterval) {
      ++it->second.suppressed;
      return;
    }
    log::warn("http connections refused",
              {{"address", address},
               {"reason", std::string(reason)},
               {"limit", static_cast<std::int64_t>(limit)},
               {"refused_since_last_line", static_cast<std::int64_t>(it->second.suppressed + 1)}});
    it->second = Entry{now, 0};
  }

 private:
  static constexpr auto kInterval = std::chrono::minutes(1);
  static constexpr std::size_t kMaxAddresses = 4096;
  struct Entry {
    std::chrono::steady_clock::time_point logged;
    std::uint64_t suppressed = 0;
  };
  std::unordered_map<std::string, Entry> last_;
};

void accept(const std::shared_ptr<ServerState>& state, const std::shared_ptr<RefusalLog>& refusals) {
  state->acceptor.async_accept(asio::make_strand(state->io), [state, refusals](boost::system::error_code ec,
                                                                               tcp::socket socket) {
    if (ec) {
      if (!state->acceptor.is_open() || state->stopping.load()) return;
      log::warn("http accept failed", {{"error", ec.message()}});
    } else {
      boost::system::error_code ignored;
      const tcp::endpoint peer = socket.remote_endpoint(ignored);
      const std::string address = ignored ? std::string() : peer.address().to_string();
      if (const std::string_view why = start_session(std::move(socket), address, state); !why.empty()) {
        if (state->refusal_observer) state->refusal_observer(Refused{why, address});
        refusals->note(address, why,
                       why == "address" ? state->options.max_connections_per_address : state->options.max_connections);
      }
    }
    if (state->acceptor.is_open() && !state->stopping.load()) accept(state, refusals);
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

void Server::set_refusal_observer(std::function<void(const Refused&)> observer) {
  state_->refusal_observer = std::move(observer);
}

void Server::start() {
  const tcp::endpoint ep(asio::ip::make_address(state_->options.host), state_->options.port);
  tcp::acceptor& a = state_->acceptor;
  a.open(ep.protocol());
  a.set_option(tcp::acceptor::reuse_address(true));
  a.bind(ep);
  a.listen(asio::socket_base::max_listen_connections);
  port_ = a.local_endpoint().port();
  accept(state_, std::make_shared<RefusalLog>());
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
