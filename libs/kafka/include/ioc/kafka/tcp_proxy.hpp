#pragma once
/// TcpProxy: forwards every connection accepted on a stable address to a
/// target address, byte for byte. ioc-broker uses it so that clients always
/// bootstrap at 127.0.0.1:9092 although the mock cluster picks its own ports;
/// after bootstrap, clients talk to the advertised broker ports directly.
///
/// Runs on the caller's io_context; all handlers run there. Not thread-safe
/// beyond that: call stop() from the io_context's thread (or a strand).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>

namespace ioc::kafka {

class TcpProxy {
 public:
  /// Binds now (throws boost::system::system_error when the port is taken).
  TcpProxy(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& listen,
           boost::asio::ip::tcp::endpoint target);
  ~TcpProxy();

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::uint64_t connections() const { return connections_; }
  /// Stops accepting; open connections finish on their own.
  void stop();

 private:
  void accept();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::endpoint target_;
  std::uint64_t connections_ = 0;
};

}  // namespace ioc::kafka
