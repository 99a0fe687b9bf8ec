#include "ioc/core/backoff.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "ioc/core/result.hpp"

namespace ioc {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DoublesUpToTheMaximumAndResets) {
  Backoff b(milliseconds(100), milliseconds(700));
  EXPECT_EQ(b.next(), milliseconds(100));
  EXPECT_EQ(b.next(), milliseconds(200));
  EXPECT_EQ(b.next(), milliseconds(400));
  EXPECT_EQ(b.next(), milliseconds(700));
  EXPECT_EQ(b.next(), milliseconds(700));
  b.reset();
  EXPECT_EQ(b.next(), milliseconds(100));
}

// A failing operation is tried again after growing pauses, not at once.
TEST(BackoffTest, RetryPausesLongerAfterEachFailure) {
  Backoff b(milliseconds(50), milliseconds(1000));
  std::vector<milliseconds> pauses;
  int calls = 0;
  const Result<int> r = retry(
      [&]() -> Result<int> {
        if (++calls < 5) return unavailable("broker down");
        return 42;
      },
      b, [&](milliseconds d) {
        pauses.push_back(d);
        return true;
      });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(pauses, (std::vector<milliseconds>{milliseconds(50), milliseconds(100), milliseconds(200),
                                               milliseconds(400)}));
  EXPECT_EQ(b.next(), milliseconds(50)) << "a success resets the backoff";
}

TEST(BackoffTest, RetryEndsWithTheLastFailureWhenThePauseIsCutShort) {
  Backoff b(milliseconds(10), milliseconds(10));
  int calls = 0;
  int pauses = 0;
  const Status s = retry(
      [&]() -> Status {
        ++calls;
        return unavailable("broker down");
      },
      b, [&](milliseconds) { return ++pauses < 3; });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(pauses, 3);
}

}  // namespace
}  // namespace ioc
