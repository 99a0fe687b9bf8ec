#include "ioc/http/server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>

#include "ioc/core/log.hpp"

namespace ioc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const std::size_t j = path.find('/', i);
    out.emplace_back(path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j;
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- Router

void Router::add(Verb method, std::string pattern, std::string route, Handler handler) {
  routes_.push_back({method, split_path(pattern), std::move(route), std::move(handler)});
}

Router::Match Router::match(Verb method, std::string_view path) const {
  const std::vector<std::string> segs = split_path(path);
  Match m;
  for (const Route& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    Params params;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      const std::string& p = r.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (segs[i].empty()) ok = false;
        params.emplace_back(p.substr(1, p.size() - 2), segs[i]);
      } else {
        ok = p == segs[i];
      }
    }
    if (!ok) continue;
    if (r.method == method || (method == Verb::head && r.method == Verb::get)) {
      m.handler = &r.handler;
      m.route = &r.name;
      m.params = std::move(params);
      return m;
    }
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += std::string(beast_http::to_string(r.method));
  }
  return m;
}

// ---------------------------------------------------------------- Session

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server& server) : stream_(std::move(socket)), server_(server) {}
  ~Session() { server_.on_closed(this); }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  /// From any thread.
  void send(Response res) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), r = std::move(res)]() mutable {
      self->write(std::move(r));
    });
  }

  /// From any thread: close now if waiting for a new request.
  void close_if_idle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->reading_ && (!self->parser_ || !self->parser_->got_some())) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        self->stream_.close();
      }
    });
  }

 private:
  void read() {
    const ServerOptions& o = server_.options_;
    parser_.emplace();
    parser_->body_limit(o.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(o.max_header_bytes));
    stream_.expires_after(requests_ == 0 ? o.read_timeout : o.idle_timeout);
    reading_ = true;
    beast_http::async_read(stream_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    reading_ = false;
    responded_ = false;
    started_ = std::chrono::steady_clock::now();
    route_ = "unmatched";
    if (ec == beast_http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::connection_reset || ec == asio::error::eof) {
      return close();
    }
    keep_alive_ = false;
    if (ec == beast_http::error::body_limit) {
      return write(error_response(Status::payload_too_large, "payload_too_large",
                                  "request body exceeds " + std::to_string(server_.options_.max_body_bytes) + " bytes"));
    }
    if (ec == beast_http::error::header_limit) {
      return write(error_response(Status::request_header_fields_too_large, "headers_too_large",
                                  "request headers exceed " + std::to_string(server_.options_.max_header_bytes) +
                                      " bytes"));
    }
    if (ec) {
      if (!parser_->got_some()) return close();
      return write(error_response(Status::bad_request, "bad_request", "malformed HTTP request: " + ec.message()));
    }
    ++requests_;
    request_ = parser_->release();
    method_ = request_.method();
    keep_alive_ = request_.keep_alive() && !server_.stopping_.load();
    Router::Match m = server_.router_.match(request_.method(), target_path(request_.target()));
    if (m.handler == nullptr) {
      if (!m.allow.empty()) {
        Response res = error_response(Status::method_not_allowed, "method_not_allowed",
                                      std::string(request_.method_string()) + " is not allowed here; allowed: " + m.allow);
        res.set(beast_http::field::allow, m.allow);
        return write(std::move(res));
      }
      return write(error_response(Status::not_found, "not_found",
                                  "no such resource: " + std::string(target_path(request_.target()))));
    }
    route_ = *m.route;
    try {
      (*m.handler)(request_, m.params, Responder(shared_from_this()));
    } catch (const std::exception& e) {
      // Handlers report errors as responses; an exception is a bug, but it
      // must not take the server down.
      log::error("http handler threw", {{"route", route_}, {"error", e.what()}});
      write(error_response(Status::internal_server_error, "internal", "internal error"));
    }
  }

  void write(Response res) {
    if (responded_) return;  // a second send() is ignored
    responded_ = true;
    res.version(11);
    res.keep_alive(keep_alive_ && !server_.stopping_.load());
    res.set(beast_http::field::server, server_.options_.server_name);
    if (method_ == Verb::head) res.body().clear();
    res.prepare_payload();
    auto sp = std::make_shared<Response>(std::move(res));
    stream_.expires_after(server_.options_.read_timeout);
    beast_http::async_write(stream_, *sp, [self = shared_from_this(), sp](beast::error_code ec, std::size_t) {
      self->on_write(ec, sp->result_int(), sp->keep_alive());
    });
  }

  void on_write(beast::error_code ec, unsigned status, bool keep_alive) {
    if (server_.observer_) {
      server_.observer_({route_, method_, status, std::chrono::steady_clock::now() - started_});
    }
    if (ec || !keep_alive) return close();
    read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  friend class Responder;
  beast::tcp_stream stream_;
  Server& server_;
  beast::flat_buffer buffer_;
  std::optional<beast_http::request_parser<beast_http::string_body>> parser_;
  Request request_;
  Verb method_ = Verb::unknown;
  std::string route_ = "unmatched";
  std::chrono::steady_clock::time_point started_{};
  std::uint64_t requests_ = 0;
  bool reading_ = false;
  bool keep_alive_ = false;
  bool responded_ = true;
};

void Responder::send(Response response) const { session_->send(std::move(response)); }

// ---------------------------------------------------------------- Server

Server::Server(asio::io_context& io, ServerOptions options, Router router)
    : io_(io), options_(std::move(options)), router_(std::move(router)), acceptor_(io) {}

Server::~Server() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void Server::start() {
  const tcp::endpoint ep(asio::ip::make_address(options_.host), options_.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  accept();
}

void Server::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (!acceptor_.is_open() || stopping_.load()) return;
      log::warn("http accept failed", {{"error", ec.message()}});
    } else if (open_connections() >= options_.max_connections) {
      log::warn("http connection limit reached", {{"limit", static_cast<std::int64_t>(options_.max_connections)}});
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      auto session = std::make_shared<Session>(std::move(socket), *this);
      {
        std::lock_guard lock(mu_);
        sessions_.emplace(session.get(), session);
      }
      session->start();
    }
    if (acceptor_.is_open() && !stopping_.load()) accept();
  });
}

void Server::stop() {
  if (stopping_.exchange(true)) return;
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mu_);
    for (auto& [ptr, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  // Outside the lock: the last reference may drop here and ~Session locks mu_.
  for (auto& s : live) s->close_if_idle();
}

void Server::on_closed(Session* s) {
  std::lock_guard lock(mu_);
  sessions_.erase(s);
}

std::size_t Server::open_connections() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

}  // namespace ioc::http
