// DeadLetters: what a record's copy carries, and a copy that cannot be queued.
#include "ioc/kafka/dead_letters.hpp"

#include <gtest/gtest.h>

#include "ioc/kafka/fakes/fakes.hpp"

namespace ioc::kafka {
namespace {

TEST(DeadLettersTest, CopiesTheRecordWithItsHeadersSourceAndReason) {
  fakes::Log log;
  fakes::Outbox outbox;
  log.skip("in", 2, 7);
  const fakes::Record& r = log.append("in", 2, "k", "v", 1000, {{"trace", "t-1"}});
  DeadLetters dl("dlq", "ioc-test", [&](const std::string& t, std::string_view k, std::string_view v, const Headers& h) {
    outbox.produce(t, k, v, h);
    return Status{};
  });
  ASSERT_TRUE(dl.send(r.view(), "invalid record: bad").ok());
  const std::vector<fakes::Produced> produced = outbox.on("dlq");
  ASSERT_EQ(produced.size(), 1u);
  const fakes::Produced& p = produced[0];
  EXPECT_EQ(p.key, "k");
  EXPECT_EQ(p.value, "v");
  EXPECT_EQ(p.headers.front(), (std::pair<std::string, std::string>{"trace", "t-1"}));
  EXPECT_EQ(p.header("ioc.source.topic"), "in");
  EXPECT_EQ(p.header("ioc.source.partition"), "2");
  EXPECT_EQ(p.header("ioc.source.offset"), "7");
  EXPECT_EQ(p.header("ioc.error"), "invalid record: bad");
  EXPECT_EQ(p.header("ioc.service"), "ioc-test");
}

TEST(DeadLettersTest, ACopyNotQueuedIsAnError) {
  fakes::Log log;
  const fakes::Record& r = log.append("in", 0, "k", "v", 1000);
  DeadLetters dl("dlq", "ioc-test", [](const std::string&, std::string_view, std::string_view, const Headers&) {
    return Status{Error{ErrorCode::kUnavailable, "queue full"}};
  });
  Status s = dl.send(r.view(), "why");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace ioc::kafka
