#include "routes.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <thread>

#include "assets.hpp"
#include "ioc/http/client.hpp"

namespace ioc::wall {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

// Routes on a real server (port 0) with a hub the test publishes to.
class RoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.max_clients = 2;
    hub_ = std::make_unique<SseHub>("e", options_);
    http::Router router;
    add_routes(router, *hub_, options_, clock_, metrics_);
    server_ = std::make_unique<http::Server>(io_, http::ServerOptions{.host = "127.0.0.1"}, std::move(router));
    server_->start();
    runner_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    hub_->close_all();
    server_->stop();
    io_.stop();
    runner_.join();
  }

  /// Opens /events and reads until `until` appears (or the stream ends).
  struct Events {
    asio::io_context io;
    asio::ip::tcp::socket sock{io};
    std::string got;
    bool read_until(const std::string& until) {
      std::array<char, 4096> buf{};
      boost::system::error_code ec;
      while (got.find(until) == std::string::npos && !ec) got.append(buf.data(), sock.read_some(asio::buffer(buf), ec));
      return got.find(until) != std::string::npos;
    }
  };
  std::unique_ptr<Events> open_events(const std::string& extra_headers = "") {
    auto e = std::make_unique<Events>();
    e->sock.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    asio::write(e->sock, asio::buffer("GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n" + extra_headers +
                                      "\r\n"));
    return e;
  }

  SseOptions options_;
  ManualClock clock_{from_epoch_ms(1'720'000'000'000)};
  prometheus::Registry prom_;
  Metrics metrics_{prom_};
  std::unique_ptr<SseHub> hub_;
  asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  std::thread runner_;
};

TEST_F(RoutesTest, ThePageAndItsFilesComeFromTheBinaryWithAStrictPolicy) {
  http::Client c("127.0.0.1", server_->port());
  auto page = c.get("/");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->result(), http::Status::ok);
  EXPECT_EQ((*page)[http::beast_http::field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(page->body().find("/assets/wall.js"), std::string::npos);
  const std::string csp((*page)["Content-Security-Policy"]);
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
  for (const Asset& a : assets()) {
    if (a.name == "index.html") continue;
    auto r = c.get("/assets/" + std::string(a.name));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->result(), http::Status::ok) << a.name;
    EXPECT_EQ(r->body(), a.body) << a.name;
  }
  EXPECT_NE(find_asset("wall.css"), nullptr);
  EXPECT_EQ(c.get("/assets/nope.js")->result(), http::Status::not_found);
  // No file of the page names another origin.
  for (const Asset& a : assets()) {
    for (const char* outside : {"http://", "https://", "//fonts.", "cdn"}) {
      const std::string body(a.body);
      const auto at = body.find(outside);
      // The SVG namespace is a name, not a request.
      if (at != std::string::npos) {
        EXPECT_EQ(body.compare(at, 26, "http://www.w3.org/2000/svg"), 0) << a.name;
      }
    }
  }
}

TEST_F(RoutesTest, StateIsTheLatestOfEverySection) {
  hub_->publish({{"kpis", R"({"reports":{"total":3}})"}}, 1);
  http::Client c("127.0.0.1", server_->port());
  auto r = c.get("/api/v1/state");
  ASSERT_TRUE(r.ok());
  const json::value v = json::parse(r->body());
  EXPECT_EQ(v.at("last_event_id").as_string(), "e-1");
  EXPECT_EQ(v.at("sections").at("kpis").at("reports").at("total").as_int64(), 3);
}

TEST_F(RoutesTest, EventsStreamASnapshotThenChangesAndResumeFromLastEventId) {
  hub_->publish({{"kpis", R"({"n":1})"}}, 1);
  auto e = open_events();
  ASSERT_TRUE(e->read_until("event: snapshot"));
  EXPECT_NE(e->got.find("Content-Type: text/event-stream"), std::string::npos) << e->got;
  EXPECT_NE(e->got.find("Transfer-Encoding: chunked"), std::string::npos) << e->got;
  ASSERT_TRUE(e->read_until("\n\n\r\n"));  // the snapshot's chunk is complete
  hub_->publish({{"kpis", R"({"n":2})"}}, 2);
  ASSERT_TRUE(e->read_until("id: e-2\nevent: kpis\ndata: {\"server_time\":2,\"data\":{\"n\":2}}"));
  e->sock.close();
  // Missed while away: e-3; resumed with the header EventSource sends.
  hub_->publish({{"kpis", R"({"n":3})"}}, 3);
  auto back = open_events("Last-Event-ID: e-2\r\n");
  ASSERT_TRUE(back->read_until("id: e-3\nevent: kpis\n"));
  EXPECT_EQ(back->got.find("event: snapshot"), std::string::npos);
  // Or as ?lastEventId= from a page that opens a new stream.
  auto q = std::make_unique<Events>();
  q->sock.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  back->sock.close();
  for (int i = 0; i < 500 && hub_->clients() > 0; ++i) std::this_thread::sleep_for(10ms);  // guard, not a measure
  asio::write(q->sock, asio::buffer(std::string("GET /events?lastEventId=e-1 HTTP/1.1\r\nHost: x\r\n\r\n")));
  ASSERT_TRUE(q->read_until("id: e-3\nevent: kpis\n"));
  EXPECT_NE(q->got.find("id: e-2\nevent: kpis\n"), std::string::npos);
}

TEST_F(RoutesTest, StreamsPastTheLimitGet503WithRetryAfter) {
  auto a = open_events(), b = open_events();
  ASSERT_TRUE(a->read_until("event: snapshot"));
  ASSERT_TRUE(b->read_until("event: snapshot"));
  http::Client c("127.0.0.1", server_->port());
  auto r = c.get("/events");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result(), http::Status::service_unavailable);
  EXPECT_EQ((*r)[http::beast_http::field::retry_after], "5");
}

}  // namespace
}  // namespace ioc::wall
