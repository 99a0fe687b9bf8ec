#include "spool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

namespace ioc::intake {
namespace {

namespace fs = std::filesystem;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ioc-spool-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  SpoolOptions options() const { return {dir_.string(), 1 << 20, 1 << 20}; }

  static Status append(Spool& s, std::string payload) {
    std::promise<Status> p;
    s.append(std::move(payload), [&p](const Status& st, std::uint64_t) { p.set_value(st); });
    return p.get_future().get();
  }

  // Appends a record whose original is still on its way; its seq.
  static std::uint64_t append_held(Spool& s, std::string payload) {
    std::promise<std::uint64_t> p;
    s.append(
        std::move(payload),
        [&p](const Status& st, std::uint64_t seq) {
          EXPECT_TRUE(st.ok());
          p.set_value(seq);
        },
        true);
    return p.get_future().get();
  }

  static std::vector<std::string> payloads(const Spool& s) {
    auto r = s.peek(100);
    EXPECT_TRUE(r.ok());
    std::vector<std::string> out;
    for (auto& rec : *r) out.push_back(rec.payload);
    return out;
  }

  fs::path only_segment() const {
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ".log") return e.path();
    }
    return {};
  }

  fs::path dir_;
};

TEST_F(SpoolTest, RecordsSurviveAReopenUntilAcknowledged) {
  {
    Spool s(options());
    ASSERT_TRUE(append(s, "a").ok());
    ASSERT_TRUE(append(s, "bb").ok());
    ASSERT_TRUE(append(s, "ccc").ok());
    EXPECT_EQ(s.depth(), 3u);
    EXPECT_EQ(payloads(s), (std::vector<std::string>{"a", "bb", "ccc"}));
    auto after_first = s.peek(10, 1);
    ASSERT_TRUE(after_first.ok());
    EXPECT_EQ(after_first->front().payload, "bb");
    ASSERT_TRUE(s.ack(2).ok());
    EXPECT_EQ(s.depth(), 1u);
  }
  Spool s(options());
  EXPECT_EQ(s.depth(), 1u);
  EXPECT_EQ(payloads(s), (std::vector<std::string>{"ccc"}));
  ASSERT_TRUE(append(s, "d").ok());
  auto r = s.peek(10);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].seq, 3u);
  EXPECT_EQ((*r)[1].seq, 4u);  // sequence numbers continue after a reopen
}

TEST_F(SpoolTest, ATornTailIsCutOffAndAppendsContinue) {
  {
    Spool s(options());
    ASSERT_TRUE(append(s, "one").ok());
    ASSERT_TRUE(append(s, "two").ok());
  }
  {
    std::ofstream(only_segment(), std::ios::binary | std::ios::app).write("IOCS\x40\0\0", 7);  // half a header
  }
  {
    Spool s(options());
    EXPECT_EQ(s.corrupt_records(), 0u);
    EXPECT_EQ(payloads(s), (std::vector<std::string>{"one", "two"}));
    ASSERT_TRUE(append(s, "three").ok());
  }
  Spool s(options());
  EXPECT_EQ(payloads(s), (std::vector<std::string>{"one", "two", "three"}));
}

TEST_F(SpoolTest, ACorruptRecordIsReportedCopiedAsideAndTheRestIsKept) {
  {
    Spool s(options());
    ASSERT_TRUE(append(s, "first record").ok());
    ASSERT_TRUE(append(s, "second record").ok());
    ASSERT_TRUE(append(s, "third record").ok());
  }
  {
    std::fstream f(only_segment(), std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(Spool::kHeaderBytes * 2 + 12 + 3));  // inside "second record"
    f.put('X');
  }
  Spool s(options());
  EXPECT_EQ(s.corrupt_records(), 1u);
  EXPECT_EQ(payloads(s), (std::vector<std::string>{"first record", "third record"}));
  ASSERT_TRUE(fs::exists(dir_ / "corrupt"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "corrupt"), fs::directory_iterator()), 1);
  EXPECT_TRUE(append(s, "fourth").ok());
}

TEST_F(SpoolTest, AFullDiskIsAClearErrorAndEarlierRecordsStay) {
  SpoolOptions o = options();
  o.segment_bytes = 1;  // every batch starts a segment
  Spool s(o);
  ASSERT_TRUE(append(s, "kept").ok());
  // The next segment is a device that is always full.
  fs::create_symlink("/dev/full", dir_ / "seg-00000000000000000002.log");
  const Status st = append(s, "refused");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("No space left on device"), std::string::npos) << st.error().message;
  EXPECT_EQ(s.failed_appends(), 1u);
  EXPECT_EQ(s.depth(), 1u);
  EXPECT_EQ(payloads(s), (std::vector<std::string>{"kept"}));
}

TEST_F(SpoolTest, AppendsPastMaxBytesAreRefused) {
  SpoolOptions o = options();
  o.max_bytes = 100;
  o.segment_bytes = 1;  // a segment per record: a delivered one can go
  Spool s(o);
  ASSERT_TRUE(append(s, std::string(50, 'a')).ok());
  EXPECT_FALSE(s.full());
  const Status st = append(s, std::string(50, 'b'));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("spool is full"), std::string::npos) << st.error().message;
  EXPECT_EQ(s.depth(), 1u);
  // Full (the intake says so at /readyz) until delivered segments go.
  EXPECT_TRUE(s.full());
  ASSERT_TRUE(s.ack(1).ok());
  EXPECT_FALSE(s.full());
  EXPECT_TRUE(append(s, std::string(50, 'b')).ok());
}

TEST_F(SpoolTest, SegmentsWithEverythingDeliveredAreDeleted) {
  SpoolOptions o = options();
  o.segment_bytes = 1;
  Spool s(o);
  for (const char* p : {"a", "b", "c"}) ASSERT_TRUE(append(s, p).ok());
  auto count = [&] {
    return std::count_if(fs::directory_iterator(dir_), fs::directory_iterator(),
                         [](const auto& e) { return e.path().extension() == ".log"; });
  };
  EXPECT_EQ(count(), 3);
  ASSERT_TRUE(s.ack(2).ok());
  EXPECT_EQ(count(), 1);
  EXPECT_EQ(s.bytes(), Spool::kHeaderBytes + 1);
}

using Payloads = std::vector<std::string>;

TEST_F(SpoolTest, AHeldRecordIsNotReplayedWhileItsOriginalIsOnItsWay) {
  Spool s(options());
  ASSERT_TRUE(append(s, "a").ok());
  const std::uint64_t b = append_held(s, "b");
  ASSERT_TRUE(append(s, "c").ok());
  EXPECT_EQ(s.depth(), 3u);
  EXPECT_EQ(s.held(), 1u);
  EXPECT_EQ(s.replayable(), 2u);
  // The replayer gets what comes before it, and nothing past it: "c" could
  // otherwise reach the broker before "b" does.
  EXPECT_EQ(payloads(s), Payloads{"a"});
  ASSERT_TRUE(s.ack(1).ok());
  EXPECT_EQ(payloads(s), Payloads{});
  EXPECT_EQ(s.depth(), 2u);
  // Its original failed: now the replayer sends it.
  s.release(b);
  EXPECT_EQ(s.held(), 0u);
  EXPECT_EQ(payloads(s), (Payloads{"b", "c"}));
}

TEST_F(SpoolTest, ARecordWhoseOriginalArrivedIsNeverReplayedNotEvenAfterARestart) {
  {
    Spool s(options());
    const std::uint64_t a = append_held(s, "a");
    const std::uint64_t b = append_held(s, "b");
    ASSERT_TRUE(append(s, "c").ok());
    s.settle(b);  // before a's original: they go to different partitions
    EXPECT_EQ(s.depth(), 2u);
    EXPECT_EQ(payloads(s), Payloads{});
    s.settle(a);
    EXPECT_EQ(s.depth(), 1u);
    EXPECT_EQ(s.held(), 0u);
    EXPECT_EQ(payloads(s), Payloads{"c"});
  }  // no ack: only the marks say that a and b were delivered
  Spool s(options());
  EXPECT_EQ(s.depth(), 1u);
  EXPECT_EQ(payloads(s), Payloads{"c"});
  ASSERT_TRUE(append(s, "d").ok());
  auto r = s.peek(10);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].seq, 6u);  // after the two marks
}

TEST_F(SpoolTest, ARestartReplaysRecordsStillHeld) {
  {
    Spool s(options());
    append_held(s, "a");
    EXPECT_EQ(payloads(s), Payloads{});
  }
  // Whether its original arrived is not known any more.
  Spool s(options());
  EXPECT_EQ(s.held(), 0u);
  EXPECT_EQ(payloads(s), Payloads{"a"});
}

TEST_F(SpoolTest, SettledRecordsLetTheirSegmentsGo) {
  SpoolOptions o = options();
  o.segment_bytes = 1;  // every batch starts a segment
  {
    Spool s(o);
    const std::uint64_t a = append_held(s, "a");
    ASSERT_TRUE(append(s, "b").ok());
    s.settle(a);
    ASSERT_TRUE(s.ack(2).ok());
    ASSERT_TRUE(append(s, "c").ok());
  }
  Spool s(o);
  EXPECT_EQ(payloads(s), Payloads{"c"});
  EXPECT_EQ(std::count_if(fs::directory_iterator(dir_), fs::directory_iterator(),
                          [](const auto& e) { return e.path().extension() == ".log"; }),
            2);  // the mark's segment and c's
}

TEST_F(SpoolTest, ConcurrentAppendsAreAllKeptInOneOrder) {
  {
    Spool s(options());
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&s, t] {
        for (int i = 0; i < 50; ++i) ASSERT_TRUE(append(s, std::to_string(t * 1000 + i)).ok());
      });
    }
    for (auto& t : threads) t.join();
  }
  Spool s(options());
  const auto got = payloads(s);
  EXPECT_EQ(s.depth(), 200u);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), 100u);  // peek(100)
}

}  // namespace
}  // namespace ioc::intake
