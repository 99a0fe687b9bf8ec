#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <future>
#include <mutex>
#include <thread>

#include "ioc/http/client.hpp"
#include "ioc/http/server.hpp"

namespace ioc::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Generous bound on waits for the server's own threads: a guard against a
// hang, never a measured threshold.
constexpr auto kGuard = 20s;

class StreamTest : public ::testing::Test {
 protected:
  void start(StreamOptions options = {}) {
    Router router;
    router.add(Verb::get, "/events", "events", [this, options](const Request&, const Params&, Responder r) {
      Response head = make_response(Status::ok, "", "text/event-stream");
      head.set(beast_http::field::cache_control, "no-cache");
      auto s = r.stream(std::move(head), options);
      s->on_end([this](StreamEnd why) { ended_.set_value(why); });
      stream_.set_value(s);
    });
    router.add(Verb::get, "/hello", "hello", [](const Request&, const Params&, Responder r) {
      r.send(make_response(Status::ok, R"({"hello":"world"})"));
    });
    server_ = std::make_unique<Server>(io_, ServerOptions{.host = "127.0.0.1"}, std::move(router));
    server_->start();
    runner_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) server_->stop();
    io_.stop();
    if (runner_.joinable()) runner_.join();
  }

  /// Connects and sends the request line of a stream.
  asio::ip::tcp::socket open(asio::io_context& io, std::string_view method = "GET") {
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    asio::write(s, asio::buffer(std::string(method) + " /events HTTP/1.1\r\nHost: x\r\n\r\n"));
    return s;
  }

  std::shared_ptr<Stream> the_stream() {
    auto f = stream_.get_future();
    EXPECT_EQ(f.wait_for(kGuard), std::future_status::ready);
    return f.get();
  }

  StreamEnd end_reason() {
    auto f = ended_.get_future();
    EXPECT_EQ(f.wait_for(kGuard), std::future_status::ready);
    return f.get();
  }

  asio::io_context io_;
  std::unique_ptr<Server> server_;
  std::thread runner_;
  std::promise<std::shared_ptr<Stream>> stream_;
  std::promise<StreamEnd> ended_;
};

TEST_F(StreamTest, PiecesArriveInOrderAndCloseFinishesTheBody) {
  start();
  asio::io_context io;
  auto sock = open(io);
  auto s = the_stream();
  EXPECT_TRUE(s->write("data: one\n\n"));
  EXPECT_TRUE(s->write("data: two\n\n"));
  EXPECT_TRUE(s->write(std::string(100'000, 'x')));
  s->close();
  EXPECT_FALSE(s->write("after close"));
  boost::beast::flat_buffer buf;
  Response res;
  boost::system::error_code ec;
  boost::beast::http::read(sock, buf, res, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result(), Status::ok);
  EXPECT_EQ(res[beast_http::field::content_type], "text/event-stream");
  EXPECT_EQ(res[beast_http::field::cache_control], "no-cache");
  EXPECT_TRUE(res.chunked());
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(res.body(), "data: one\n\ndata: two\n\n" + std::string(100'000, 'x'));
  EXPECT_EQ(end_reason(), StreamEnd::kClosed);
  EXPECT_TRUE(s->ended());
}

TEST_F(StreamTest, ClientLeavingEndsTheStream) {
  start();
  asio::io_context io;
  auto sock = open(io);
  auto s = the_stream();
  ASSERT_TRUE(s->write("data: hi\n\n"));
  // Read the head and the first piece, then leave.
  std::string got;
  std::array<char, 1024> buf{};
  boost::system::error_code ec;
  while (got.find("data: hi") == std::string::npos && !ec) got.append(buf.data(), sock.read_some(asio::buffer(buf), ec));
  ASSERT_FALSE(ec) << ec.message();
  sock.close();
  EXPECT_EQ(end_reason(), StreamEnd::kPeerGone);
  EXPECT_FALSE(s->write("data: anyone?\n\n"));
  EXPECT_EQ(s->buffered_bytes(), 0u);
}

TEST_F(StreamTest, SlowClientIsDroppedWhenItsQueueOverflows) {
  StreamOptions o;
  o.max_buffered_bytes = 64 << 10;
  start(o);
  asio::io_context io;
  auto sock = open(io);  // and never reads: socket buffers fill, then the queue
  auto s = the_stream();
  const std::string piece(16 << 10, 'e');
  bool refused = false;
  for (int i = 0; i < 100'000 && !refused; ++i) {  // at most 1.6 GB: far past any socket buffer
    refused = !s->write(piece);
    EXPECT_LE(s->buffered_bytes(), o.max_buffered_bytes);
  }
  ASSERT_TRUE(refused);
  EXPECT_EQ(end_reason(), StreamEnd::kOverflow);
  EXPECT_TRUE(s->ended());
  EXPECT_EQ(s->buffered_bytes(), 0u);  // the queue is freed at once
  // The server goes on serving others.
  Client c("127.0.0.1", server_->port());
  auto r = c.get("/hello");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->result(), Status::ok);
}

TEST_F(StreamTest, ServerStopFinishesOpenStreams) {
  start();
  asio::io_context io;
  auto sock = open(io);
  auto s = the_stream();
  ASSERT_TRUE(s->write("data: last words\n\n"));
  server_->stop();
  boost::beast::flat_buffer buf;
  Response res;
  boost::system::error_code ec;
  boost::beast::http::read(sock, buf, res, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.body(), "data: last words\n\n");
  EXPECT_EQ(end_reason(), StreamEnd::kClosed);
}

TEST_F(StreamTest, HeadRequestGetsTheHeadOnly) {
  start();
  asio::io_context io;
  auto sock = open(io, "HEAD");
  auto s = the_stream();
  EXPECT_EQ(end_reason(), StreamEnd::kClosed);
  EXPECT_FALSE(s->write("data: x\n\n"));
  boost::beast::flat_buffer buf;
  beast_http::response_parser<beast_http::empty_body> p;
  p.skip(true);  // a HEAD answer has no body
  boost::system::error_code ec;
  boost::beast::http::read_header(sock, buf, p, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(p.get().result(), Status::ok);
  EXPECT_EQ(p.get()[beast_http::field::content_type], "text/event-stream");
}

TEST(StreamEndTest, Names) {
  EXPECT_STREQ(to_string(StreamEnd::kClosed), "closed");
  EXPECT_STREQ(to_string(StreamEnd::kPeerGone), "peer_gone");
  EXPECT_STREQ(to_string(StreamEnd::kOverflow), "overflow");
  EXPECT_STREQ(to_string(StreamEnd::kWriteTimeout), "write_timeout");
}

}  // namespace
}  // namespace ioc::http
