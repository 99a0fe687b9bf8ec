#include "delivery_queue.hpp"

#include <gtest/gtest.h>

#include "events.hpp"

namespace ioc::alerter {
namespace {

using namespace std::chrono_literals;
using test::at;
using test::event;
using S = AlertEvent::State;

std::vector<std::string> ids(const std::vector<AlertEvent>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const auto& e : v) out.push_back(e.fingerprint + "/" + to_string(e.state));
  return out;
}

TEST(DeliveryQueueTest, DeliversOldestFirstAndForgetsWhatWasSent) {
  DeliveryQueue q({.max_entries = 10});
  q.push(event("a", S::kFiring, 0, 1), false);
  q.push(event("b", S::kFiring, 1, 1), false);
  q.push(event("c", S::kFiring, 2, 1), false);
  EXPECT_EQ(ids(q.take(at(3), 2)), (std::vector<std::string>{"a/firing", "b/firing"}));
  q.done(true, at(3));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(ids(q.take(at(3), 10)), (std::vector<std::string>{"c/firing"}));
  q.done(true, at(3));
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.next_attempt(), std::nullopt);
}

TEST(DeliveryQueueTest, AFailedBatchStaysAndBacksOffExponentially) {
  DeliveryQueue q({.max_entries = 10, .backoff_min = 1s, .backoff_max = 5s});
  q.push(event("a", S::kFiring, 0, 1), false);
  ASSERT_EQ(q.take(at(0), 10).size(), 1u);
  q.done(false, at(0));
  EXPECT_EQ(q.next_attempt(), at(1));
  EXPECT_TRUE(q.take(at(0.5), 10).empty());
  ASSERT_EQ(q.take(at(1), 10).size(), 1u);
  q.done(false, at(1));
  EXPECT_EQ(q.next_attempt(), at(3));  // 2 s
  ASSERT_EQ(q.take(at(3), 10).size(), 1u);
  q.done(false, at(3));
  EXPECT_EQ(q.next_attempt(), at(7));  // 4 s
  ASSERT_EQ(q.take(at(7), 10).size(), 1u);
  q.done(false, at(7));
  EXPECT_EQ(q.next_attempt(), at(12));  // capped at 5 s
  ASSERT_EQ(q.take(at(12), 10).size(), 1u);
  q.done(true, at(12));
  EXPECT_EQ(q.consecutive_failures(), 0);
  EXPECT_EQ(q.size(), 0u);
}

TEST(DeliveryQueueTest, ANewerStateReplacesTheQueuedOneAndSurvivesAnInFlightSuccess) {
  DeliveryQueue q({.max_entries = 10});
  q.push(event("a", S::kFiring, 0, 1), false);
  ASSERT_EQ(q.take(at(1), 10).size(), 1u);
  EXPECT_EQ(q.push(event("a", S::kResolved, 2, 2), false), DeliveryQueue::Push::kReplaced);  // while in flight
  q.done(true, at(2));
  EXPECT_EQ(ids(q.take(at(2), 10)), (std::vector<std::string>{"a/resolved"}));
}

TEST(DeliveryQueueTest, AFullQueueDropsReSendsButNeverAResolution) {
  DeliveryQueue q({.max_entries = 2});
  EXPECT_EQ(q.push(event("a", S::kFiring, 0, 1), true), DeliveryQueue::Push::kQueued);
  EXPECT_EQ(q.push(event("b", S::kFiring, 0, 1), false), DeliveryQueue::Push::kQueued);
  EXPECT_EQ(q.push(event("c", S::kFiring, 0, 1), true), DeliveryQueue::Push::kDropped);  // a re-send
  // A first notification takes the place of the queued re-send of "a".
  EXPECT_EQ(q.push(event("d", S::kFiring, 0, 1), false), DeliveryQueue::Push::kQueued);
  EXPECT_EQ(q.push(event("e", S::kFiring, 0, 1), false), DeliveryQueue::Push::kDropped);  // nothing to give way
  EXPECT_EQ(q.push(event("f", S::kResolved, 0, 2), true), DeliveryQueue::Push::kQueued);  // beyond the bound
  EXPECT_EQ(ids(q.take(at(1), 10)), (std::vector<std::string>{"b/firing", "d/firing", "f/resolved"}));
}

}  // namespace
}  // namespace ioc::alerter
