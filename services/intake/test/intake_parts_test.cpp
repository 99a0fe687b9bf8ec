// The intake's small parts: rate limits, API keys, the report index and
// idempotency memory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "auth.hpp"
#include "ioc/core/config_error.hpp"
#include "rate_limit.hpp"
#include "report_store.hpp"

namespace ioc::intake {
namespace {

using namespace std::chrono_literals;
const TimePoint kT0 = from_epoch_ms(1719822600000);

TEST(TokenBucketsTest, BurstThenSteadyRateThenRetryAfter) {
  TokenBuckets b({2, 3});  // 2/s, burst 3
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.take("ip", kT0).allowed);
  auto d = b.take("ip", kT0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_s, 1);
  EXPECT_TRUE(b.take("other", kT0).allowed);  // buckets are per key
  EXPECT_TRUE(b.take("ip", kT0 + 500ms).allowed);
  EXPECT_FALSE(b.take("ip", kT0 + 500ms).allowed);
  EXPECT_TRUE(TokenBuckets({0, 0}).take("x", kT0).allowed);  // rate 0: off
}

TEST(TokenBucketsTest, MemoryIsBoundedAndIdleBucketsGoFirst) {
  TokenBuckets b({1, 1}, 2);
  EXPECT_TRUE(b.take("a", kT0).allowed);
  EXPECT_TRUE(b.take("b", kT0).allowed);
  EXPECT_TRUE(b.take("c", kT0).allowed);  // full table, nobody idle: let through, counted
  EXPECT_EQ(b.unlimited(), 1u);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_TRUE(b.take("c", kT0 + 5s).allowed);  // a and b refilled: dropped, c gets a bucket
  EXPECT_EQ(b.size(), 1u);
}

class KeyRingTest : public ::testing::Test {
 protected:
  void write(const std::string& text) { std::ofstream(file_) << text; }
  void TearDown() override { std::filesystem::remove(file_); }
  std::string file_ = (std::filesystem::temp_directory_path() / ("ioc-keys-" + std::to_string(::getpid()) + ".yaml")).string();
};

TEST_F(KeyRingTest, FindsKeysByTheirHashWithScopes) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  write("keys:\n  - {name: app, sha256: " + sha256_hex("k1") + ", scopes: [submit]}\n  - {name: wall, sha256: " +
        sha256_hex("k2") + ", scopes: [read, submit]}\n");
  KeyRing ring(file_);
  EXPECT_TRUE(ring.enabled());
  ASSERT_TRUE(ring.find("k1"));
  EXPECT_EQ(ring.find("k1")->name, "app");
  EXPECT_TRUE(ring.find("k1")->can(kSubmit));
  EXPECT_FALSE(ring.find("k1")->can(kRead));
  EXPECT_TRUE(ring.find("k2")->can(kRead));
  EXPECT_FALSE(ring.find("k3"));
  EXPECT_FALSE(ring.find(""));
}

TEST_F(KeyRingTest, InvalidFilesGetPreciseErrorsAndAFailedReloadKeepsTheOldKeys) {
  auto error = [&](const std::string& text) -> std::string {
    write(text);
    try {
      KeyRing ring(file_);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error("keys: 3").find("keys: must be a list"), std::string::npos);
  EXPECT_NE(error("keys:\n  - {name: a, sha256: abc, scopes: [submit]}").find("keys[0].sha256: must be the 64 hex"),
            std::string::npos);
  EXPECT_NE(error("keys:\n  - {name: a, sha256: " + sha256_hex("x") + ", scopes: [admin]}")
                .find("unknown scope 'admin'; allowed: submit, read"),
            std::string::npos);
  EXPECT_NE(error("keys:\n  - {name: a, key: x}").find("keys[0].key: unknown field"), std::string::npos);

  write("keys:\n  - {name: app, sha256: " + sha256_hex("k1") + ", scopes: [submit]}\n");
  KeyRing ring(file_);
  write("keys: [oops");
  EXPECT_FALSE(ring.reload().ok());
  EXPECT_TRUE(ring.find("k1"));
  write("keys:\n  - {name: app2, sha256: " + sha256_hex("k2") + ", scopes: [read]}\n");
  EXPECT_TRUE(ring.reload().ok());
  EXPECT_FALSE(ring.find("k1"));
  EXPECT_TRUE(ring.find("k2"));
}

Report report(std::string id, std::string category, TimePoint received) {
  Report r;
  r.id = std::move(id);
  r.category = std::move(category);
  r.district = "380";
  r.received_at = received;
  return r;
}

TEST(ReportStoreTest, DeliveryOnlyMovesForwardAndUpdatesSortByTime) {
  ReportStore s;
  s.put(report("a", "flood", kT0), Delivery::kQueued);
  s.put(report("a", "flood", kT0), Delivery::kReceived);
  EXPECT_EQ(s.get("a")->delivery, Delivery::kQueued);
  s.set_delivery("a", Delivery::kDelivered);
  EXPECT_EQ(s.get("a")->status(), "delivered");
  s.apply({"a", "resolved", "done", "op", kT0 + 2h, ""});
  s.apply({"a", "in_progress", "on it", "op", kT0 + 1h, ""});  // arrives late, sorts first
  EXPECT_EQ(s.get("a")->status(), "resolved");
  EXPECT_TRUE(s.get("a")->closed());
  // An update may come before its report.
  s.apply({"b", "acknowledged", "", "op", kT0, ""});
  EXPECT_FALSE(s.get("b"));
  s.put(report("b", "fire", kT0 + 1s), Delivery::kDelivered);
  EXPECT_EQ(s.get("b")->status(), "acknowledged");
}

TEST(ReportStoreTest, QueryFiltersAndTheBoundDropsTheOldest) {
  ReportStore s(3);
  s.put(report("a", "flood", kT0), Delivery::kDelivered);
  s.put(report("b", "fire", kT0 + 1s), Delivery::kDelivered);
  s.put(report("c", "flood", kT0 + 2s), Delivery::kDelivered);
  s.apply({"c", "closed", "", "", kT0 + 3s, ""});
  ReportQuery q;
  q.categories = {"flood"};
  auto got = s.query(q);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].report.id, "c");  // newest first
  q.closed = false;
  ASSERT_EQ(s.query(q).size(), 1u);
  q = {};
  q.start = kT0 + 1s;
  EXPECT_EQ(s.query(q).size(), 2u);
  s.put(report("d", "flood", kT0 + 4s), Delivery::kDelivered);
  EXPECT_EQ(s.size(), 3u);
  EXPECT_FALSE(s.get("a"));
}

TEST(IdempotencyCacheTest, NewInProgressReplayMismatchTakenAndExpiry) {
  using B = IdempotencyCache::Begin;
  IdempotencyCache c(10, 1h);
  EXPECT_EQ(c.begin("k", "app", 1, kT0).kind, B::kNew);
  EXPECT_EQ(c.begin("k", "app", 1, kT0).kind, B::kInProgress);
  c.finish("k", {202, "{}"});
  auto b = c.begin("k", "app", 1, kT0 + 1s);
  EXPECT_EQ(b.kind, B::kReplay);
  EXPECT_EQ(b.response.body, "{}");
  EXPECT_EQ(c.begin("k", "app", 2, kT0).kind, B::kMismatch) << "another report of the same client";
  EXPECT_EQ(c.begin("k", "other-app", 1, kT0).kind, B::kTaken) << "the same report from another client";
  EXPECT_EQ(c.begin("k", "app", 1, kT0 + 2h).kind, B::kNew);  // past the window
  // A failed first attempt leaves nothing behind.
  EXPECT_EQ(c.begin("f", "app", 1, kT0).kind, B::kNew);
  c.abandon("f");
  EXPECT_EQ(c.begin("f", "app", 1, kT0).kind, B::kNew);
  // Learned from the topic, with the report's hash: a retry replays, another
  // report under the id is told apart, as before a restart.
  c.learn("t", "app", 7, {202, "old"}, kT0, kT0);
  EXPECT_EQ(c.begin("t", "app", 7, kT0).kind, B::kReplay);
  EXPECT_EQ(c.begin("t", "app", 8, kT0).kind, B::kMismatch);
  EXPECT_EQ(c.begin("t", "", 7, kT0).kind, B::kTaken);
  // A record from before content hashes: any report of the client replays.
  c.learn("o", "app", 0, {202, "older"}, kT0, kT0);
  EXPECT_EQ(c.begin("o", "app", 99, kT0).kind, B::kReplay);
}

TEST(IdempotencyCacheTest, TheOldestKeysGoPastTheBound) {
  IdempotencyCache c(2, 1h);
  for (const char* k : {"a", "b", "c"}) {
    c.begin(k, "app", 1, kT0);
    c.finish(k, {202, k});
  }
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.begin("a", "app", 1, kT0).kind, IdempotencyCache::Begin::kNew);
  EXPECT_EQ(c.begin("c", "app", 1, kT0).kind, IdempotencyCache::Begin::kReplay);
}

}  // namespace
}  // namespace ioc::intake
