#include "spool_replayer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>

#include "fake_outlet.hpp"
#include "ioc/codec/codec.hpp"

namespace ioc::intake {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::FakeOutlet;

class SpoolReplayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ioc-replayer-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    spool_ = std::make_unique<Spool>(SpoolOptions{dir_.string(), 1 << 20, 1 << 20});
    ReplayHooks hooks;
    hooks.delivered = [this](std::string_view id) {
      std::lock_guard lock(mu_);
      delivered_.emplace_back(id);
      cv_.notify_all();
    };
    replayer_ = std::make_unique<SpoolReplayer>(outlet_, *spool_, clock_, ReplayOptions{.batch = 10, .backoff = 1s},
                                                std::move(hooks));
  }
  void TearDown() override {
    replayer_.reset();
    spool_.reset();
    fs::remove_all(dir_);
  }

  // Spools a report with id `id` and waits until it is on disk.
  void spool(const std::string& id) {
    Report r;
    r.id = id;
    r.district = "380";
    r.category = "flood";
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    spool_->append(codec::encode(r), [&](const Status& st, std::uint64_t) {
      EXPECT_TRUE(st.ok());
      std::lock_guard lock(mu);
      done = true;
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return done; }));
  }
  // Waits (bounded) until the outlet was asked to send `n` records.
  bool sent_within(std::size_t n, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (outlet_.sent() < n) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }
  std::vector<std::string> delivered() {
    std::lock_guard lock(mu_);
    return delivered_;
  }

  fs::path dir_;
  ManualClock clock_;
  FakeOutlet outlet_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<SpoolReplayer> replayer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> delivered_;
};

TEST_F(SpoolReplayerTest, SendsInOrderAndAcknowledgesWhatWasDelivered) {
  spool("a");
  spool("b");
  ASSERT_TRUE(replayer_->step());
  ASSERT_EQ(outlet_.sent(), 2U);
  EXPECT_EQ(outlet_.id(0), "a");
  EXPECT_EQ(outlet_.id(1), "b");
  EXPECT_FALSE(replayer_->step()) << "outcomes not in yet";
  outlet_.deliver(0);
  outlet_.deliver(1);
  ASSERT_TRUE(replayer_->step());
  EXPECT_EQ(delivered(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(spool_->depth(), 0U);
  EXPECT_FALSE(replayer_->step());
}

// A round that did not deliver everything waits for the backoff, by the
// clock, then sends again only what failed.
TEST_F(SpoolReplayerTest, AFailedRoundIsRetriedAfterTheBackoff) {
  spool("a");
  spool("b");
  ASSERT_TRUE(replayer_->step());
  outlet_.deliver(0);
  outlet_.fail(1);
  ASSERT_TRUE(replayer_->step());
  ASSERT_TRUE(replayer_->retry_at().has_value());
  EXPECT_EQ(*replayer_->retry_at(), clock_.now() + 1s);
  EXPECT_FALSE(replayer_->step()) << "before the backoff";
  clock_.advance(999ms);
  EXPECT_FALSE(replayer_->step());
  clock_.advance(1ms);
  ASSERT_TRUE(replayer_->step());
  ASSERT_EQ(outlet_.sent(), 3U);
  EXPECT_EQ(outlet_.id(2), "b");
  EXPECT_FALSE(replayer_->retry_at().has_value());
}

// The thread sleeps while no broker can be reached and goes on when woken:
// nothing polls, so without wake() it would sleep on.
TEST_F(SpoolReplayerTest, WaitsForTheBrokerAndGoesOnWhenWoken) {
  outlet_.set_reachable(false);
  spool("a");
  replayer_->start();
  replayer_->wake();
  EXPECT_FALSE(sent_within(1, 300ms)) << "no broker: nothing is sent";
  outlet_.set_reachable(true);
  EXPECT_FALSE(sent_within(1, 400ms)) << "the replayer sleeps until it is woken";
  replayer_->wake();
  ASSERT_TRUE(sent_within(1, 10s));
  outlet_.deliver(0);  // the last outcome of the batch wakes it too
  std::unique_lock lock(mu_);
  EXPECT_TRUE(cv_.wait_for(lock, 10s, [&] { return delivered_.size() == 1; }));
}

// After a failed round the thread wakes by itself when the backoff is over.
TEST_F(SpoolReplayerTest, TheBackoffTimerWakesTheThread) {
  spool("a");
  replayer_->start();
  ASSERT_TRUE(sent_within(1, 10s));
  outlet_.fail(0);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!replayer_->retry_at() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(replayer_->retry_at().has_value());
  clock_.advance(1s);
  EXPECT_TRUE(sent_within(2, 10s)) << "sent again once the backoff passed";
}

}  // namespace
}  // namespace ioc::intake
