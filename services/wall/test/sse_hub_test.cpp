#include "sse_hub.hpp"

#include <gtest/gtest.h>

namespace ioc::wall {
namespace {

/// A client whose buffer holds `capacity` bytes until drain() is called.
class FakeSink final : public EventSink {
 public:
  explicit FakeSink(std::size_t capacity = 1 << 20) : capacity_(capacity) {}
  bool send(std::string bytes) override {
    if (gone || buffered_ + bytes.size() > capacity_) return false;
    buffered_ += bytes.size();
    received += bytes;
    return true;
  }
  void close() override { closed = true; }
  void drain() { buffered_ = 0; }

  std::string received;
  bool closed = false;
  bool gone = false;

 private:
  std::size_t capacity_;
  std::size_t buffered_ = 0;
};

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
  return n;
}

SseOptions options() {
  SseOptions o;
  o.max_clients = 3;
  o.replay_events = 4;
  o.retry = std::chrono::milliseconds(1500);
  return o;
}

TEST(SseHubTest, ANewClientGetsTheRetryDelayAndASnapshot) {
  SseHub hub("e", options());
  hub.publish({{"kpis", R"({"n":1})"}}, 10);
  auto c = std::make_shared<FakeSink>();
  const SseHub::Attach a = hub.attach(c, "", 11);
  EXPECT_EQ(a.outcome, SseHub::Attached::kOk);
  EXPECT_TRUE(a.snapshot);
  EXPECT_EQ(c->received.rfind("retry: 1500\n\n", 0), 0u);
  EXPECT_NE(c->received.find("event: snapshot\ndata: {\"last_event_id\":\"e-1\""), std::string::npos) << c->received;
  EXPECT_EQ(hub.clients(), 1u);
}

TEST(SseHubTest, ChangesReachEveryClientOnce) {
  SseHub hub("e", options());
  auto a = std::make_shared<FakeSink>(), b = std::make_shared<FakeSink>();
  hub.attach(a, "", 0);
  hub.attach(b, "", 0);
  SseHub::Published p = hub.publish({{"kpis", R"({"n":1})"}, {"alerts", "[]"}}, 1);
  EXPECT_EQ(p.events, 2u);
  p = hub.publish({{"kpis", R"({"n":1})"}, {"alerts", "[]"}}, 2);  // nothing changed
  EXPECT_EQ(p.events, 0u);
  hub.publish({{"kpis", R"({"n":2})"}}, 3);
  for (const auto* c : {a.get(), b.get()}) {
    EXPECT_EQ(count(c->received, "event: kpis\n"), 2u);
    EXPECT_EQ(count(c->received, "event: alerts\n"), 1u);
    EXPECT_NE(c->received.find("id: e-3\nevent: kpis\ndata: {\"server_time\":3,\"data\":{\"n\":2}}\n\n"),
              std::string::npos);
  }
}

TEST(SseHubTest, AClientThatCannotKeepUpIsDroppedAndTheOthersGoOn) {
  SseHub hub("e", options());
  auto slow = std::make_shared<FakeSink>(300), fast = std::make_shared<FakeSink>();
  hub.attach(slow, "", 0);
  hub.attach(fast, "", 0);
  std::size_t dropped = 0;
  for (int i = 0; i < 20; ++i) {
    dropped += hub.publish({{"kpis", "{\"n\":" + std::to_string(i) + "}"}}, i).dropped;
    fast->drain();  // the fast one reads everything
  }
  EXPECT_EQ(dropped, 1u);
  EXPECT_TRUE(slow->closed);
  EXPECT_FALSE(fast->closed);
  EXPECT_EQ(hub.clients(), 1u);
  EXPECT_EQ(count(fast->received, "event: kpis\n"), 20u);
}

// Regression: 64 streams that never read, from one address, took every
// slot: every other client, from any address, got 503.
TEST(SseHubTest, OneAddressCannotTakeEveryStream) {
  SseOptions o = options();
  o.max_clients = 4;
  o.max_clients_per_address = 2;
  SseHub hub("e", o);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(hub.attach(std::make_shared<FakeSink>(), "", 0, "10.0.0.9").outcome, SseHub::Attached::kOk);
  }
  EXPECT_EQ(hub.attach(std::make_shared<FakeSink>(), "", 0, "10.0.0.9").outcome, SseHub::Attached::kTooMany);
  EXPECT_EQ(hub.clients_from("10.0.0.9"), 2u);
  auto other = std::make_shared<FakeSink>();
  EXPECT_EQ(hub.attach(other, "", 0, "10.0.0.7").outcome, SseHub::Attached::kOk);
  hub.detach(other.get());
  EXPECT_EQ(hub.clients_from("10.0.0.7"), 0u);
  EXPECT_EQ(hub.clients(), 2u);
}

TEST(SseHubTest, ClientsPastTheLimitAreRefused) {
  SseHub hub("e", options());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(hub.attach(std::make_shared<FakeSink>(), "", 0).outcome, SseHub::Attached::kOk);
  EXPECT_EQ(hub.attach(std::make_shared<FakeSink>(), "", 0).outcome, SseHub::Attached::kTooMany);
  auto gone = std::make_shared<FakeSink>();
  gone->gone = true;
  hub.close_all();
  EXPECT_EQ(hub.clients(), 0u);
  EXPECT_EQ(hub.attach(gone, "", 0).outcome, SseHub::Attached::kGone);
  EXPECT_EQ(hub.clients(), 0u);
}

TEST(SseHubTest, AReconnectResumesFromItsLastEventId) {
  SseHub hub("e", options());
  for (int i = 1; i <= 6; ++i) hub.publish({{"kpis", "{\"n\":" + std::to_string(i) + "}"}}, i);
  auto back = std::make_shared<FakeSink>();
  SseHub::Attach a = hub.attach(back, "e-4", 7);
  EXPECT_FALSE(a.snapshot);
  EXPECT_EQ(a.events, 2u);
  EXPECT_NE(back->received.find("id: e-5\n"), std::string::npos);
  EXPECT_NE(back->received.find("id: e-6\n"), std::string::npos);
  EXPECT_EQ(back->received.find("id: e-4\n"), std::string::npos);
  auto current = std::make_shared<FakeSink>();
  a = hub.attach(current, "e-6", 7);
  EXPECT_EQ(a.events, 0u);
  EXPECT_EQ(current->received, "retry: 1500\n\n");
  auto old = std::make_shared<FakeSink>();
  a = hub.attach(old, "e-1", 7);  // only 4 events are kept
  EXPECT_TRUE(a.snapshot);
  EXPECT_NE(old->received.find("event: snapshot\n"), std::string::npos);
}

TEST(SseHubTest, KeepAliveIsACommentAndDetachForgetsAClient) {
  SseHub hub("e", options());
  auto a = std::make_shared<FakeSink>(), b = std::make_shared<FakeSink>();
  hub.attach(a, "", 0);
  hub.attach(b, "", 0);
  EXPECT_EQ(hub.keep_alive(), 0u);
  EXPECT_NE(a->received.find("\n\n: keep-alive\n\n"), std::string::npos);
  hub.detach(a.get());
  EXPECT_EQ(hub.clients(), 1u);
  hub.keep_alive();
  EXPECT_EQ(count(a->received, ": keep-alive"), 1u);
  EXPECT_EQ(count(b->received, ": keep-alive"), 2u);
  hub.close_all();
  EXPECT_TRUE(b->closed);
}

}  // namespace
}  // namespace ioc::wall
