#include "ioc/kafka/tcp_proxy.hpp"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "ioc/core/log.hpp"

namespace ioc::kafka {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// One proxied connection: two sockets and one pump per direction. Shared
// ownership by the pending handlers keeps it alive until both sides closed.
class Pipe : public std::enable_shared_from_this<Pipe> {
 public:
  Pipe(tcp::socket client, asio::io_context& io) : client_(std::move(client)), upstream_(io) {}

  void start(const tcp::endpoint& target) {
    upstream_.async_connect(target, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) {
        log::warn("bootstrap proxy: upstream connect failed", {{"error", ec.message()}});
        self->close();
        return;
      }
      self->pump(self->client_, self->upstream_, self->to_upstream_);
      self->pump(self->upstream_, self->client_, self->to_client_);
    });
  }

 private:
  using Buffer = std::array<char, 64 * 1024>;

  void pump(tcp::socket& from, tcp::socket& to, Buffer& buf) {
    from.async_read_some(asio::buffer(buf), [self = shared_from_this(), &from, &to, &buf](
                                                  boost::system::error_code ec, std::size_t n) {
      if (ec) {
        self->close();
        return;
      }
      asio::async_write(to, asio::buffer(buf.data(), n),
                        [self, &from, &to, &buf](boost::system::error_code wec, std::size_t) {
                          if (wec) {
                            self->close();
                            return;
                          }
                          self->pump(from, to, buf);
                        });
    });
  }

  void close() {
    boost::system::error_code ignored;
    client_.close(ignored);
    upstream_.close(ignored);
  }

  tcp::socket client_;
  tcp::socket upstream_;
  Buffer to_upstream_{};
  Buffer to_client_{};
};

}  // namespace

TcpProxy::TcpProxy(asio::io_context& io, const tcp::endpoint& listen, tcp::endpoint target)
    : io_(io), acceptor_(io), target_(std::move(target)) {
  acceptor_.open(listen.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(listen);
  acceptor_.listen();
  accept();
}

TcpProxy::~TcpProxy() { stop(); }

void TcpProxy::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void TcpProxy::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec != asio::error::operation_aborted) log::warn("bootstrap proxy: accept failed", {{"error", ec.message()}});
      if (!acceptor_.is_open()) return;
    } else {
      ++connections_;
      std::make_shared<Pipe>(std::move(socket), io_)->start(target_);
    }
    accept();
  });
}

}  // namespace ioc::kafka
