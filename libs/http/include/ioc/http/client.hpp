#pragma once
/// Client: a small blocking HTTP/1.1 client with one keep-alive connection,
/// for tools and the simulator. Reconnects once when a kept-alive
/// connection turns out to be closed. Not thread-safe: one owner thread.

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "ioc/core/result.hpp"
#include "ioc/http/types.hpp"

namespace ioc::http {

class Client {
 public:
  Client(std::string host, std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  /// Sends `req` (Host and keep-alive are filled in). Transport failures and
  /// timeouts are kUnavailable/kDeadlineExceeded; any HTTP status is a value.
  [[nodiscard]] Result<Response> send(Request req);
  [[nodiscard]] Result<Response> get(std::string target);
  [[nodiscard]] Result<Response> post(std::string target, std::string body, std::string_view content_type);

 private:
  ioc::Status connect();
  void reset();

  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
  boost::asio::io_context io_;
  std::optional<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace ioc::http
