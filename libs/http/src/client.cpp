#include "ioc/http/client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace ioc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

Client::Client(std::string host, std::uint16_t port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

void Client::reset() {
  if (stream_) {
    beast::error_code ignored;
    stream_->socket().close(ignored);
  }
  stream_.reset();
  buffer_.clear();
}

ioc::Status Client::connect() {
  reset();
  tcp::resolver resolver(io_);
  beast::error_code ec;
  const auto results = resolver.resolve(host_, std::to_string(port_), ec);
  if (ec) return unavailable("resolve " + host_ + ": " + ec.message());
  stream_.emplace(io_);
  stream_->expires_after(timeout_);
  stream_->async_connect(results, [&ec](beast::error_code e, const tcp::endpoint&) { ec = e; });
  io_.restart();
  io_.run();
  if (ec) {
    reset();
    return unavailable("connect " + host_ + ":" + std::to_string(port_) + ": " + ec.message());
  }
  stream_->socket().set_option(tcp::no_delay(true));
  return {};
}

Result<Response> Client::send(Request req) {
  req.version(11);
  req.set(beast_http::field::host, host_ + ":" + std::to_string(port_));
  req.keep_alive(true);
  req.prepare_payload();
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = stream_.has_value();
    if (!stream_) {
      if (ioc::Status s = connect(); !s.ok()) return s.error();
    }
    beast::error_code ec;
    Response res;
    stream_->expires_after(timeout_);
    beast_http::async_write(*stream_, req, [&](beast::error_code e, std::size_t) {
      ec = e;
      if (ec) return;
      beast_http::async_read(*stream_, buffer_, res, [&](beast::error_code e2, std::size_t) { ec = e2; });
    });
    io_.restart();
    io_.run();
    if (!ec) {
      if (!res.keep_alive()) reset();
      return res;
    }
    reset();
    if (ec == beast::error::timeout) return Error{ErrorCode::kDeadlineExceeded, "HTTP request timed out"};
    // A kept-alive connection the server already closed: retry once on a
    // fresh one. Anything else is the server's answer.
    if (!reused) return unavailable("HTTP request failed: " + ec.message());
  }
  return unavailable("HTTP request failed after reconnect");
}

Result<Response> Client::get(std::string target) { return send(Request{Verb::get, target, 11}); }

Result<Response> Client::post(std::string target, std::string body, std::string_view content_type) {
  Request req{Verb::post, target, 11};
  req.set(beast_http::field::content_type, content_type);
  req.body() = std::move(body);
  return send(std::move(req));
}

}  // namespace ioc::http
