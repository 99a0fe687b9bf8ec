#include "ioc/http/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <mutex>
#include <optional>
#include <thread>

#include "ioc/http/client.hpp"

namespace ioc::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions opts = {}) {
    opts.host = "127.0.0.1";
    opts.port = 0;
    Router router;
    router.add(Verb::get, "/hello", "hello", [](const Request&, const Params&, Responder r) {
      r.send(make_response(Status::ok, R"({"hello":"world"})"));
    });
    router.add(Verb::get, "/views/{view}", "view", [](const Request&, const Params& p, Responder r) {
      r.send(make_response(Status::ok, p.at(0).first + "=" + p.at(0).second, "text/plain"));
    });
    router.add(Verb::post, "/echo", "echo", [](const Request& req, const Params&, Responder r) {
      r.send(make_response(Status::ok, req.body(), "text/plain"));
    });
    // Answers later, from another thread, like intake after a broker ack.
    router.add(Verb::post, "/later", "later", [this](const Request&, const Params&, Responder r) {
      std::lock_guard lock(mu_);
      workers_.emplace_back([r] {
        std::this_thread::sleep_for(20ms);
        r.send(make_response(Status::accepted, R"({"status":"accepted"})"));
      });
    });
    router.add(Verb::get, "/throws", "throws", [](const Request&, const Params&, Responder) {
      throw std::runtime_error("boom");
    });
    if (gate_) router.set_gate(gate_);
    server_ = std::make_unique<Server>(io_, opts, std::move(router));
    if (refusal_reasons_ != nullptr) {
      server_->set_refusal_observer([this](const Refused& r) {
        std::lock_guard lock(mu_);
        refusal_reasons_->emplace_back(r.reason);
      });
    }
    server_->set_observer([this](const Completed& c) {
      std::lock_guard lock(mu_);
      completed_.emplace_back(std::string(c.route), c.status);
    });
    server_->start();
    runner_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) server_->stop();
    {
      std::lock_guard lock(mu_);
      for (auto& w : workers_) w.join();
    }
    io_.stop();
    if (runner_.joinable()) runner_.join();
  }

  // Writes raw bytes and reads until the server closes the connection.
  std::string raw_exchange(const std::string& bytes) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    return raw_exchange_on(s, bytes);
  }
  static std::string raw_exchange_on(asio::ip::tcp::socket& s, const std::string& bytes) {
    asio::write(s, asio::buffer(bytes));
    std::string out;
    boost::system::error_code ec;
    std::array<char, 4096> buf{};
    while (!ec) {
      const std::size_t n = s.read_some(asio::buffer(buf), ec);
      out.append(buf.data(), n);
    }
    return out;
  }

  asio::io_context io_;
  std::unique_ptr<Server> server_;
  std::thread runner_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<std::pair<std::string, unsigned>> completed_;
  std::vector<std::string>* refusal_reasons_ = nullptr;  // under mu_
  Router::Gate gate_;
};

TEST_F(ServerTest, RoutesKeepAliveAndParams) {
  start();
  Client c("127.0.0.1", server_->port());
  auto r1 = c.get("/hello");
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  EXPECT_EQ(r1->result(), Status::ok);
  EXPECT_EQ(r1->body(), R"({"hello":"world"})");
  auto r2 = c.get("/views/reports_by_district?x=1");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->body(), "view=reports_by_district");
  auto r3 = c.post("/echo", "ping", "text/plain");
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->body(), "ping");
  EXPECT_EQ(server_->open_connections(), 1u);  // one kept-alive connection served all three
}

TEST_F(ServerTest, UnknownPathAndWrongMethod) {
  start();
  Client c("127.0.0.1", server_->port());
  auto nf = c.get("/nope");
  ASSERT_TRUE(nf.ok());
  EXPECT_EQ(nf->result(), Status::not_found);
  EXPECT_EQ(boost::json::parse(nf->body()).at("error").as_string(), "not_found");
  // Regression: the 404 echoed the whole path (15 KB on every service).
  auto long_path = c.get("/" + std::string(15'000, 'p'));
  ASSERT_TRUE(long_path.ok());
  EXPECT_EQ(long_path->result(), Status::not_found);
  EXPECT_LT(long_path->body().size(), 400u);
  auto na = c.post("/hello", "{}", "application/json");
  ASSERT_TRUE(na.ok());
  EXPECT_EQ(na->result(), Status::method_not_allowed);
  EXPECT_EQ((*na)[beast_http::field::allow], "GET");
}

TEST_F(ServerTest, AnswersFromAnotherThread) {
  start();
  Client c("127.0.0.1", server_->port());
  for (int i = 0; i < 3; ++i) {
    auto r = c.post("/later", "{}", "application/json");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->result(), Status::accepted);
  }
}

TEST_F(ServerTest, BodyOverLimitGets413AndServerKeepsServing) {
  ServerOptions o;
  o.max_body_bytes = 100;
  start(o);
  Client c("127.0.0.1", server_->port());
  auto big = c.post("/echo", std::string(101, 'x'), "text/plain");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->result(), Status::payload_too_large);
  auto ok = c.post("/echo", std::string(100, 'x'), "text/plain");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->result(), Status::ok);
}

TEST_F(ServerTest, HugeHeadersGet431) {
  ServerOptions o;
  o.max_header_bytes = 512;
  start(o);
  const std::string resp =
      raw_exchange("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
  EXPECT_NE(resp.find("431"), std::string::npos) << resp;
}

TEST_F(ServerTest, MalformedRequestGets400) {
  start();
  const std::string resp = raw_exchange("GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
  EXPECT_NE(resp.find("400 Bad Request"), std::string::npos) << resp;
}

// Regression: with Transfer-Encoding: gzip the body was read as a second
// request (405, then 202 for the smuggled one).
TEST_F(ServerTest, SmuggledRequestIsNotServed) {
  start();
  const std::string smuggled = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";
  const std::string resp = raw_exchange("POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" + smuggled);
  EXPECT_EQ(resp.rfind("HTTP/1.1 400 Bad Request", 0), 0u) << resp;
  EXPECT_NE(resp.find("Transfer-Encoding 'gzip' is not supported"), std::string::npos) << resp;
  EXPECT_EQ(resp.find("HTTP/1.1", 1), std::string::npos) << "a second response: " << resp;
}

// Regressions (RFC 9112): two Host headers were served (§3.2: 400); an
// HTTP/1.0 request with Transfer-Encoding was read as chunked and a
// pipelined request after it served (§6.1: faulty framing, close); an
// obs-folded Transfer-Encoding was accepted (§5.2).
TEST_F(ServerTest, AmbiguousFramingAndHostsAreRefusedAndTheConnectionClosed) {
  start();
  const std::string resp = raw_exchange("GET /hello HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n");
  EXPECT_EQ(resp.rfind("HTTP/1.1 400 Bad Request", 0), 0u) << resp;
  EXPECT_NE(resp.find("more than one Host header"), std::string::npos) << resp;

  const std::string next = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string http10 =
      raw_exchange("POST /echo HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n" + next);
  EXPECT_EQ(http10.rfind("HTTP/1.1 400 Bad Request", 0), 0u) << http10;
  EXPECT_EQ(http10.find("HTTP/1.1", 1), std::string::npos) << "the pipelined request was served: " << http10;

  const std::string folded =
      raw_exchange("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n" + next);
  EXPECT_EQ(folded.rfind("HTTP/1.1 400 Bad Request", 0), 0u) << folded;
  EXPECT_EQ(folded.find("HTTP/1.1", 1), std::string::npos) << "the pipelined request was served: " << folded;
}

// Regression: `Expect: 100-continue` never got `100 Continue`, so clients
// such as curl waited a second before sending every body.
TEST_F(ServerTest, ExpectContinueGets100BeforeTheBody) {
  start();
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  asio::write(s, asio::buffer(std::string(
                     "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")));
  std::array<char, 256> buf{};
  const std::size_t n = s.read_some(asio::buffer(buf));  // before any body byte was sent
  EXPECT_EQ(std::string(buf.data(), n), "HTTP/1.1 100 Continue\r\n\r\n");
  asio::write(s, asio::buffer(std::string("hi")));
  std::string out;
  boost::system::error_code ec;
  while (out.find("\r\n\r\nhi") == std::string::npos && !ec) {
    const std::size_t m = s.read_some(asio::buffer(buf), ec);
    out.append(buf.data(), m);
  }
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK", 0), 0u) << out;
}

// Regression: 4,200 idle sockets from one address took every connection
// slot, and each refusal wrote a log line.
TEST_F(ServerTest, OneAddressCannotTakeEveryConnection) {
  std::vector<std::string> refused;
  ServerOptions opts;
  opts.max_connections_per_address = 2;
  refusal_reasons_ = &refused;
  start(opts);
  asio::io_context io;
  auto connect = [&] {
    auto s = std::make_unique<asio::ip::tcp::socket>(io);
    s->connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    return s;
  };
  auto closed_at_once = [](asio::ip::tcp::socket& s) {
    std::array<char, 16> buf{};
    boost::system::error_code ec;
    s.read_some(asio::buffer(buf), ec);  // the server closes it, or answers 400 to nothing: either ends it
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  };
  auto a = connect();
  auto b = connect();
  auto c = connect();
  EXPECT_TRUE(closed_at_once(*c));
  auto refusals = [&] {
    std::lock_guard lock(mu_);
    return refused;
  };
  // The observer runs just after the socket is closed.
  for (int i = 0; i < 200 && refusals().empty(); ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(refusals(), std::vector<std::string>{"address"});
  EXPECT_EQ(server_->open_connections(), 2u);
  a->close();
  // Its slot comes back once the server has seen it go.
  for (int i = 0; i < 200 && server_->open_connections() != 1; ++i) std::this_thread::sleep_for(5ms);
  auto d = connect();
  EXPECT_EQ(raw_exchange_on(*d, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
}

// A gate refuses at header time: the body is never waited for.
TEST_F(ServerTest, AGateRefusesBeforeTheBodyIsRead) {
  gate_ = [](const Request& header, const std::string& peer) -> std::optional<Response> {
    if (header.target() != "/echo" || peer != "127.0.0.1") return std::nullopt;
    return error_response(Status::too_many_requests, "rate_limited", "slow down");
  };
  start();
  // A megabyte announced, none of it sent: the answer comes at once.
  const std::string resp = raw_exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
  EXPECT_EQ(resp.rfind("HTTP/1.1 429 Too Many Requests", 0), 0u) << resp;
  EXPECT_NE(resp.find("Connection: close"), std::string::npos) << resp;
  EXPECT_EQ(raw_exchange("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(ServerTest, HostIsRequiredAndAbsoluteFormRoutes) {
  start();
  EXPECT_NE(raw_exchange("GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n").find("400 Bad Request"),
            std::string::npos);
  const std::string resp =
      raw_exchange("GET http://x/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(resp.rfind("HTTP/1.1 200 OK", 0), 0u) << resp;
}

// Regression: after a first request, the next one could trickle its headers
// for idle_timeout; once it starts, it has read_timeout like the first.
TEST_F(ServerTest, KeptAliveConnectionGetsReadTimeoutOnceTheNextRequestStarts) {
  ServerOptions o;
  o.read_timeout = std::chrono::milliseconds(200);
  o.idle_timeout = std::chrono::seconds(30);
  start(o);
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  asio::write(sock, asio::buffer(std::string("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string got;
  std::array<char, 4096> buf{};
  boost::system::error_code ec;
  while (got.find("world\"}") == std::string::npos && !ec) got.append(buf.data(), sock.read_some(asio::buffer(buf), ec));
  ASSERT_FALSE(ec) << ec.message();
  const std::string next = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: yes\r\n\r\n";
  for (char c : next) {
    asio::write(sock, asio::buffer(&c, 1), ec);
    if (ec) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string rest;
  ec = {};
  while (!ec) rest.append(buf.data(), sock.read_some(asio::buffer(buf), ec));
  EXPECT_EQ(rest.find("200 OK"), std::string::npos) << "the trickled request was served: " << rest;
}

TEST_F(ServerTest, HandlerExceptionBecomes500) {
  start();
  Client c("127.0.0.1", server_->port());
  auto r = c.get("/throws");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result(), Status::internal_server_error);
  auto again = c.get("/hello");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->result(), Status::ok);
}

TEST_F(ServerTest, ObserverSeesRouteAndStatus) {
  start();
  Client c("127.0.0.1", server_->port());
  ASSERT_TRUE(c.get("/views/a").ok());
  ASSERT_TRUE(c.get("/missing").ok());
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard lock(mu_);
      if (completed_.size() == 2) break;
    }
    std::this_thread::sleep_for(5ms);
  }
  std::lock_guard lock(mu_);
  ASSERT_EQ(completed_.size(), 2u);
  EXPECT_EQ(completed_[0], (std::pair<std::string, unsigned>{"view", 200}));
  EXPECT_EQ(completed_[1], (std::pair<std::string, unsigned>{"unmatched", 404}));
}

TEST_F(ServerTest, StopClosesIdleConnections) {
  start();
  Client c("127.0.0.1", server_->port());
  ASSERT_TRUE(c.get("/hello").ok());
  server_->stop();
  for (int i = 0; i < 200 && server_->open_connections() > 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(server_->open_connections(), 0u);
}

// A Responder kept by a slow handler may outlive the Server (shutdown while a
// request waits for Kafka). Its connection must not touch the freed Server;
// under ASan this failed with heap-use-after-free before connections shared
// the server's state.
TEST(ServerLifetimeTest, ResponderMayOutliveTheServer) {
  asio::io_context io;
  std::optional<Responder> kept;
  std::atomic<bool> got{false};
  Router router;
  router.add(Verb::get, "/slow", "slow", [&](const Request&, const Params&, Responder r) {
    kept.emplace(std::move(r));
    got = true;
  });
  auto server = std::make_unique<Server>(io, ServerOptions{.host = "127.0.0.1"}, std::move(router));
  server->start();
  std::thread runner([&] { io.run(); });
  std::thread client([port = server->port()] {
    Client c("127.0.0.1", port, 2s);
    (void)c.get("/slow");  // no answer expected
  });
  while (!got) std::this_thread::sleep_for(1ms);
  server->stop();
  io.stop();
  runner.join();
  server.reset();
  kept->send(make_response(Status::ok, "{}"));  // posts to a stopped loop: dropped
  kept.reset();
  io.restart();
  io.run();  // runs what is still queued, then destroys the connection
  client.join();
}

TEST(RouterTest, MatchesPatternsAndReportsAllowedMethods) {
  Router r;
  Handler h = [](const Request&, const Params&, Responder) {};
  r.add(Verb::get, "/a/{id}.json", "a", h);
  r.add(Verb::get, "/a/{id}", "a_id", h);
  r.add(Verb::put, "/a/{id}", "a_put", h);
  auto m = r.match(Verb::get, "/a/42");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(*m.route, "a_id");
  EXPECT_EQ(m.params, (Params{{"id", "42"}}));
  auto head = r.match(Verb::head, "/a/42");
  ASSERT_NE(head.route, nullptr);
  auto wrong = r.match(Verb::delete_, "/a/42");
  EXPECT_EQ(wrong.route, nullptr);
  EXPECT_EQ(wrong.allow, "GET, PUT");
  EXPECT_EQ(r.match(Verb::get, "/a").route, nullptr);
  EXPECT_EQ(r.match(Verb::get, "/a/1/2").route, nullptr);
}

}  // namespace
}  // namespace ioc::http
