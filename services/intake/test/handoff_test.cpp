#include "handoff.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "fake_outlet.hpp"
#include "ioc/codec/codec.hpp"

namespace ioc::intake {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::FakeOutlet;

/// The answers, by report id; waits for them (spool appends finish on the
/// spool's writer thread).
class Answers {
 public:
  Handoff::Answer for_(std::string id) {
    return [this, id = std::move(id)](const Verdict& v) {
      std::lock_guard lock(mu_);
      got_[id].push_back(v.kind);
      cv_.notify_all();
    };
  }
  std::vector<Verdict::Kind> wait(const std::string& id) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 10s, [&] { return got_.contains(id); });
    return got_[id];
  }
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return got_.size();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<Verdict::Kind>> got_;
};

using Kinds = std::vector<Verdict::Kind>;
constexpr auto kAccepted = Verdict::Kind::kAccepted;
constexpr auto kQueued = Verdict::Kind::kQueued;

class HandoffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ioc-handoff-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    open_spool();
    start_handoff();
  }
  void TearDown() override {
    spool_.reset();  // its last appends answer through the handoff
    handoff_.reset();
    fs::remove_all(dir_);
  }
  void open_spool() { spool_ = std::make_unique<Spool>(SpoolOptions{dir_.string(), 1 << 20, 1 << 20}); }
  void start_handoff() {
    HandoffHooks hooks;
    hooks.delivered = [this](std::string_view id) {
      std::lock_guard lock(mu_);
      delivered_.emplace_back(id);
    };
    hooks.replayed = [this](std::size_t n) { replayed_ += n; };
    handoff_ = std::make_unique<Handoff>(
        outlet_, spool_.get(), clock_, HandoffOptions{.answer_deadline = 5s, .replay_batch = 10, .replay_backoff = 1s},
        std::move(hooks));
  }
  // An empty spool and a new handoff.
  void fresh() {
    TearDown();
    open_spool();
    start_handoff();
  }

  // Submits a report with id `id`.
  void submit(const std::string& id) {
    Report r;
    r.id = id;
    r.district = "380";
    r.category = "flood";
    handoff_->submit({id, "req-" + id, r.district, codec::encode(r)}, answers_.for_(id));
  }
  // Runs the replayer until it has nothing to do.
  void replay() {
    for (int i = 0; i < 100 && handoff_->replay_step(); ++i) {
    }
  }
  std::vector<std::string> delivered() {
    std::lock_guard lock(mu_);
    return delivered_;
  }

  fs::path dir_;
  ManualClock clock_;
  FakeOutlet outlet_;
  Answers answers_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<Handoff> handoff_;
  std::mutex mu_;
  std::vector<std::string> delivered_;
  std::size_t replayed_ = 0;
};

TEST_F(HandoffTest, AnAcknowledgedReportIsAcceptedAndNeverSpooled) {
  submit("r1");
  EXPECT_EQ(answers_.size(), 0u);
  outlet_.deliver(0);
  EXPECT_EQ(answers_.wait("r1"), Kinds{kAccepted});
  clock_.advance(10s);
  EXPECT_FALSE(handoff_->expire());
  EXPECT_EQ(spool_->depth(), 0u);
}

TEST_F(HandoffTest, ASlowReportIsQueuedAndWhenItsRecordArrivesItIsNotReplayed) {
  submit("r1");
  clock_.advance(4999ms);
  EXPECT_EQ(handoff_->expire(), clock_.now() + 1ms);  // still waiting
  clock_.advance(1ms);
  EXPECT_FALSE(handoff_->expire());
  EXPECT_EQ(answers_.wait("r1"), Kinds{kQueued});  // durable in the spool
  EXPECT_EQ(spool_->depth(), 1u);
  EXPECT_EQ(spool_->held(), 1u);
  // The replayer does not send a copy while the record is on its way.
  replay();
  EXPECT_EQ(outlet_.sent(), 1u);
  // The leader failed over; the producer's retry lands, once.
  outlet_.deliver(0);
  EXPECT_EQ(spool_->depth(), 0u);
  EXPECT_EQ(delivered(), std::vector<std::string>{"r1"});
  replay();
  EXPECT_EQ(outlet_.sent(), 1u);
  EXPECT_EQ(outlet_.topic(), (std::map<std::string, int>{{"r1", 1}}));
  EXPECT_EQ(answers_.wait("r1"), Kinds{kQueued});  // answered once
  // Nor after a restart.
  handoff_.reset();
  spool_.reset();
  open_spool();
  EXPECT_EQ(spool_->depth(), 0u);
}

TEST_F(HandoffTest, ASlowReportWhoseRecordFailsIsReplayedOnce) {
  submit("r1");
  clock_.advance(5s);
  handoff_->expire();
  EXPECT_EQ(answers_.wait("r1"), Kinds{kQueued});
  outlet_.fail(0);
  EXPECT_EQ(spool_->held(), 0u);
  replay();
  ASSERT_EQ(outlet_.sent(), 2u);
  EXPECT_EQ(outlet_.id(1), "r1");
  outlet_.deliver(1);
  replay();
  EXPECT_EQ(spool_->depth(), 0u);
  EXPECT_EQ(replayed_, 1u);
  EXPECT_EQ(outlet_.topic(), (std::map<std::string, int>{{"r1", 1}}));
}

TEST_F(HandoffTest, WhicheverOfAcknowledgementAndSpoolComesFirstAnswersOnce) {
  // The acknowledgement may come while the held copy is being written.
  for (int i = 0; i < 30; ++i) {
    fresh();
    const std::string id = "r" + std::to_string(i);
    submit(id);
    clock_.advance(5s);
    handoff_->expire();
    outlet_.deliver(static_cast<std::size_t>(i));
    answers_.wait(id);
    for (int j = 0; j < 200 && spool_->depth() > 0; ++j) std::this_thread::sleep_for(5ms);
    replay();
    EXPECT_EQ(spool_->depth(), 0u) << id;
  }
  fresh();  // the last appends are done
  // Nothing was replayed.
  EXPECT_EQ(outlet_.sent(), 30u);
  EXPECT_EQ(outlet_.topic().size(), 30u);
  for (const auto& [id, n] : outlet_.topic()) {
    EXPECT_EQ(n, 1) << id;
    EXPECT_EQ(answers_.wait(id).size(), 1u) << id;
  }
}

TEST_F(HandoffTest, WhileNoBrokerIsReachableReportsAreSpooledThenReplayedInOrder) {
  outlet_.set_reachable(false);
  for (const char* id : {"a", "b", "c"}) submit(id);
  for (const char* id : {"a", "b", "c"}) EXPECT_EQ(answers_.wait(id), Kinds{kQueued});
  EXPECT_EQ(outlet_.sent(), 0u);
  EXPECT_EQ(spool_->held(), 0u);
  replay();
  EXPECT_EQ(outlet_.sent(), 0u);
  outlet_.set_reachable(true);
  replay();
  ASSERT_EQ(outlet_.sent(), 3u);
  EXPECT_EQ(outlet_.id(0) + outlet_.id(1) + outlet_.id(2), "abc");
  for (std::size_t i = 0; i < 3; ++i) outlet_.deliver(i);
  replay();
  EXPECT_EQ(spool_->depth(), 0u);
  EXPECT_EQ(replayed_, 3u);
}

TEST_F(HandoffTest, NewReportsQueueBehindSpooledOnesHeldOnesIncluded) {
  submit("slow");
  clock_.advance(5s);
  handoff_->expire();
  EXPECT_EQ(answers_.wait("slow"), Kinds{kQueued});
  // The broker is slow: the next reports are answered at once, from the
  // spool, and reach the broker after the held one.
  submit("next");
  EXPECT_EQ(answers_.wait("next"), Kinds{kQueued});
  outlet_.set_reachable(false);
  submit("unreachable");
  EXPECT_EQ(answers_.wait("unreachable"), Kinds{kQueued});
  outlet_.set_reachable(true);
  EXPECT_EQ(outlet_.sent(), 1u);
  EXPECT_EQ(spool_->held(), 1u);
  // The replayer waits for the held one's record, then sends the others in order.
  replay();
  EXPECT_EQ(outlet_.sent(), 1u);
  outlet_.deliver(0);
  replay();
  ASSERT_EQ(outlet_.sent(), 3u);
  EXPECT_EQ(outlet_.id(1), "next");
  EXPECT_EQ(outlet_.id(2), "unreachable");
  outlet_.deliver(1);
  outlet_.deliver(2);
  replay();
  EXPECT_EQ(spool_->depth(), 0u);
  // Drained: reports go to the broker again.
  submit("direct");
  EXPECT_EQ(outlet_.sent(), 4u);
  outlet_.deliver(3);
  EXPECT_EQ(answers_.wait("direct"), Kinds{kAccepted});
  EXPECT_EQ(outlet_.topic().size(), 4u);
}

TEST_F(HandoffTest, AReplayRoundSendsAgainOnlyWhatFailed) {
  outlet_.set_reachable(false);
  for (const char* id : {"a", "b", "c"}) submit(id);
  for (const char* id : {"a", "b", "c"}) answers_.wait(id);
  outlet_.set_reachable(true);
  replay();
  ASSERT_EQ(outlet_.sent(), 3u);
  outlet_.fail(0);
  outlet_.deliver(1);
  outlet_.deliver(2);
  replay();
  EXPECT_EQ(outlet_.sent(), 3u);  // backing off
  EXPECT_EQ(spool_->depth(), 1u);
  clock_.advance(1s);
  replay();
  ASSERT_EQ(outlet_.sent(), 4u);
  EXPECT_EQ(outlet_.id(3), "a");
  outlet_.deliver(3);
  replay();
  EXPECT_EQ(spool_->depth(), 0u);
  EXPECT_EQ(outlet_.topic(), (std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}}));
}

TEST(HandoffWithoutSpoolTest, ARecordTheProducerGivesUpOnIs503) {
  ManualClock clock;
  FakeOutlet outlet;
  Handoff handoff(outlet, nullptr, clock, HandoffOptions{});
  std::vector<Verdict> got;
  handoff.submit({"r1", "req-1", "380", "x"}, [&](const Verdict& v) { got.push_back(v); });
  clock.advance(1h);
  EXPECT_FALSE(handoff.expire());  // the producer's timeout is the deadline
  outlet.fail(0);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Verdict::Kind::kBrokerUnavailable);
  EXPECT_NE(got[0].why.find("Purged"), std::string::npos);
  outlet.set_reachable(false);
  handoff.submit({"r2", "req-2", "380", "x"}, [&](const Verdict& v) { got.push_back(v); });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].kind, Verdict::Kind::kBrokerUnavailable);
  EXPECT_EQ(outlet.sent(), 1u);
}

}  // namespace
}  // namespace ioc::intake
