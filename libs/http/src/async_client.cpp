#include "ioc/http/async_client.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <memory>

namespace ioc::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// One request; every handler runs on its strand, so `finished` needs no lock.
class GetOp : public std::enable_shared_from_this<GetOp> {
 public:
  GetOp(asio::io_context& io, std::string host, std::uint16_t port, std::string target,
        std::chrono::steady_clock::time_point deadline, std::function<void(Result<Response>)> done)
      : strand_(asio::make_strand(io)),
        resolver_(strand_),
        stream_(strand_),
        timer_(strand_),
        host_(std::move(host)),
        port_(port),
        deadline_(deadline),
        done_(std::move(done)) {
    req_ = Request{Verb::get, target, 11};
    req_.set(beast_http::field::host, host_ + ":" + std::to_string(port_));
    req_.keep_alive(false);
  }

  void start() {
    asio::dispatch(strand_, [self = shared_from_this()] { self->begin(); });
  }

 private:
  void begin() {
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->finish(Error{ErrorCode::kDeadlineExceeded, "no answer within the deadline"});
    });
    resolver_.async_resolve(host_, std::to_string(port_),
                            [self = shared_from_this()](beast::error_code ec, const tcp::resolver::results_type& r) {
                              if (ec) return self->finish(unavailable("resolve " + self->host_ + ": " + ec.message()));
                              self->connect(r);
                            });
  }

  void connect(const tcp::resolver::results_type& endpoints) {
    stream_.expires_at(deadline_);
    stream_.async_connect(endpoints, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return self->failed("connect", ec);
      beast_http::async_write(self->stream_, self->req_, [self](beast::error_code wec, std::size_t) {
        if (wec) return self->failed("write", wec);
        beast_http::async_read(self->stream_, self->buffer_, self->res_, [self](beast::error_code rec, std::size_t) {
          if (rec) return self->failed("read", rec);
          self->finish(std::move(self->res_));
        });
      });
    });
  }

  void failed(std::string_view step, beast::error_code ec) {
    if (ec == beast::error::timeout) {
      return finish(Error{ErrorCode::kDeadlineExceeded, "no answer within the deadline"});
    }
    finish(unavailable(std::string(step) + " " + host_ + ":" + std::to_string(port_) + ": " + ec.message()));
  }

  void finish(Result<Response> r) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    resolver_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    done_(std::move(r));
  }

  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  std::string host_;
  std::uint16_t port_;
  std::chrono::steady_clock::time_point deadline_;
  std::function<void(Result<Response>)> done_;
  Request req_;
  beast::flat_buffer buffer_;
  Response res_;
  bool finished_ = false;
};

}  // namespace

void async_get(asio::io_context& io, std::string host, std::uint16_t port, std::string target,
               std::chrono::steady_clock::time_point deadline, std::function<void(Result<Response>)> done) {
  std::make_shared<GetOp>(io, std::move(host), port, std::move(target), deadline, std::move(done))->start();
}

}  // namespace ioc::http
