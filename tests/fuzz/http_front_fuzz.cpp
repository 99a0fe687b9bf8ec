// libFuzzer target: the real ioc::http::Server, in-process on 127.0.0.1, fed
// arbitrary bytes over TCP. Each input is one connection: write the bytes,
// half-close, read until the server closes. Checked:
//  - everything the server wrote is a sequence of well-framed HTTP/1.1
//    responses with a status in 100..599 (truncated only after a reset);
//  - no response follows one that said "Connection: close", and there are
//    no more responses than request lines (no request smuggled in a body);
//  - routes see what the router promised (one non-empty capture, bodies
//    within max_body_bytes);
//  - the server closes every connection (within kCloseDeadline) and, every
//    kHealthEvery inputs, still answers a fresh well-formed request and has
//    no connection left open.
// A violation aborts, so libFuzzer keeps the input.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "ioc/http/server.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;
using ioc::http::Params;
using ioc::http::Request;
using ioc::http::Responder;
using ioc::http::Status;
using ioc::http::Verb;

constexpr std::size_t kMaxBody = 1024;
constexpr std::size_t kMaxHeader = 2048;
constexpr auto kCloseDeadline = 5s;
constexpr unsigned kHealthEvery = 256;

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "http_front_fuzz: %s %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

/// The server under test with four routes, its io_context on one thread,
/// and a second thread that answers POST /api/v1/later like intake answers
/// after a broker ack. Started once per process.
class Front {
 public:
  Front() {
    ioc::http::Router router;
    router.add(Verb::get, "/healthz", "healthz", [](const Request&, const Params&, Responder r) {
      r.send(ioc::http::make_response(Status::ok, "ok", "text/plain"));
    });
    router.add(Verb::post, "/api/v1/echo", "echo", [](const Request& req, const Params&, Responder r) {
      check(req.body().size() <= kMaxBody, "handler got a body over max_body_bytes");
      r.send(ioc::http::make_response(Status::ok, std::to_string(req.body().size()), "text/plain"));
    });
    router.add(Verb::get, "/api/v1/views/{view}", "view", [](const Request&, const Params& p, Responder r) {
      check(p.size() == 1 && p[0].first == "view", "capture missing");
      check(!p[0].second.empty() && p[0].second.find('/') == std::string::npos, "bad capture", p[0].second);
      r.send(ioc::http::make_response(Status::ok, "view=" + p[0].second, "text/plain"));
    });
    router.add(Verb::post, "/api/v1/later", "later", [this](const Request&, const Params&, Responder r) {
      asio::post(later_, [r] { r.send(ioc::http::make_response(Status::accepted, R"({"status":"accepted"})")); });
    });
    ioc::http::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.max_body_bytes = kMaxBody;
    o.max_header_bytes = kMaxHeader;
    // Short, so an input that stops mid-request ends quickly.
    o.read_timeout = 200ms;
    o.idle_timeout = 200ms;
    server_ = std::make_unique<ioc::http::Server>(io_, o, std::move(router));
    server_->start();
    io_thread_ = std::thread([this] { io_.run(); });
    later_thread_ = std::thread([this] { later_.run(); });
  }

  ~Front() {
    server_->stop();
    wait_until_no_connections();
    io_guard_.reset();
    later_guard_.reset();
    later_thread_.join();
    io_.stop();
    io_thread_.join();
  }

  Front(const Front&) = delete;
  Front& operator=(const Front&) = delete;

  std::uint16_t port() const { return server_->port(); }

  bool wait_until_no_connections() const {
    const auto deadline = std::chrono::steady_clock::now() + kCloseDeadline;
    while (server_->open_connections() != 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }

 private:
  asio::io_context io_;
  asio::io_context later_;
  asio::executor_work_guard<asio::io_context::executor_type> io_guard_ = asio::make_work_guard(io_);
  asio::executor_work_guard<asio::io_context::executor_type> later_guard_ = asio::make_work_guard(later_);
  std::unique_ptr<ioc::http::Server> server_;
  std::thread io_thread_;
  std::thread later_thread_;
};

Front& front() {
  static Front f;
  return f;
}

struct Exchange {
  std::string received;
  bool clean_eof = false;  // false: the server reset the connection
};

/// A socket connected to 127.0.0.1:port. Each exchange leaves a client-side
/// TIME_WAIT entry (the client half-closes first); Linux reuses those for
/// loopback connections, and should local ports still run out, this waits
/// for some to expire.
int connect_to(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto deadline = std::chrono::steady_clock::now() + kCloseDeadline;
  for (;;) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check(fd >= 0, "socket() failed:", std::strerror(errno));
    int err = 0;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) err = errno;
    if (err == EINTR) {
      // libFuzzer's -timeout alarm interrupted connect(); the connection
      // completes in the background.
      pollfd p{fd, POLLOUT, 0};
      while (::poll(&p, 1, -1) < 0) check(errno == EINTR, "poll() failed:", std::strerror(errno));
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
    if (err == 0) return fd;
    ::close(fd);
    check(err == EADDRNOTAVAIL && std::chrono::steady_clock::now() < deadline, "connect() failed:", std::strerror(err));
    std::this_thread::sleep_for(10ms);
  }
}

/// One connection: writes `bytes`, half-closes, reads until the server
/// closes.
Exchange exchange(std::uint16_t port, std::string_view bytes) {
  const int fd = connect_to(port);
  Exchange ex;
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server answered and closed before reading it all
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + kCloseDeadline;
  char buf[16384];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) fail("the server kept a half-closed connection open");
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0) check(errno == EINTR, "poll() failed:", std::strerror(errno));
    if (ready <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      ex.received.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      ex.clean_eof = true;
      break;
    } else if (errno != EINTR) {
      check(errno == ECONNRESET || errno == EPIPE, "recv() failed:", std::strerror(errno));
      break;
    }
  }
  ::close(fd);
  return ex;
}

std::size_t count(std::string_view s, std::string_view what) {
  std::size_t n = 0;
  for (auto i = s.find(what); i != std::string_view::npos; i = s.find(what, i + 1)) ++n;
  return n;
}

struct Parsed {
  std::size_t responses = 0;
  unsigned last_status = 0;
  std::string last_body;
};

/// Parses everything the server wrote as back-to-back responses.
Parsed check_responses(const Exchange& ex) {
  Parsed out;
  std::string_view rest = ex.received;
  bool closed = false;
  while (!rest.empty()) {
    check(!closed, "a response followed one with Connection: close");
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    beast::error_code ec;
    while (!rest.empty() && !parser.is_done()) {
      const std::size_t n = parser.put(asio::buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(n);
      if (ec == bhttp::error::need_more) {
        if (n == 0) break;  // only the rest of the stream can complete it
        ec = {};
        continue;
      }
      check(!ec, "unparseable response:", ec.message());
    }
    if (!parser.is_done()) {
      // A response that ends where the stream ends is complete only if the
      // server had no reason to stop early: after a clean EOF it is a bug.
      check(!ex.clean_eof, "truncated response");
      return out;
    }
    const auto& res = parser.get();
    check(res.version() == 11, "response is not HTTP/1.1");
    check(res.result_int() >= 100 && res.result_int() <= 599, "status out of range");
    closed = !res.keep_alive();
    ++out.responses;
    out.last_status = res.result_int();
    out.last_body = res.body();
  }
  return out;
}

void check_still_serving(Front& f) {
  check(f.wait_until_no_connections(), "connections left open");
  const Exchange ex = exchange(f.port(), "GET /healthz HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n");
  const Parsed p = check_responses(ex);
  check(ex.clean_eof && p.responses == 1 && p.last_status == 200 && p.last_body == "ok",
        "the server no longer answers a well-formed request");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static unsigned inputs = 0;
  Front& f = front();
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const Exchange ex = exchange(f.port(), in);
  const Parsed p = check_responses(ex);
  check(p.responses <= count(in, "HTTP/") + 1, "more responses than request lines");
  if (++inputs % kHealthEvery == 0) check_still_serving(f);
  return 0;
}
