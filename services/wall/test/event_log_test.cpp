#include "event_log.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace ioc::wall {
namespace {

namespace json = boost::json;

struct Parsed {
  std::string id, event;
  json::value data;
};

// Reads one SSE message the way a browser's EventSource does.
Parsed parse(const std::string& frame) {
  Parsed p;
  EXPECT_EQ(frame.substr(frame.size() - 2), "\n\n");
  std::size_t i = 0;
  while (i < frame.size()) {
    const std::size_t nl = frame.find('\n', i);
    const std::string line = frame.substr(i, nl - i);
    i = nl + 1;
    if (line.empty()) break;
    const std::size_t colon = line.find(": ");
    const std::string field = line.substr(0, colon), value = line.substr(colon + 2);
    if (field == "id") p.id = value;
    else if (field == "event") p.event = value;
    else if (field == "data") p.data = json::parse(value);
    else ADD_FAILURE() << "unexpected field " << field;
  }
  EXPECT_EQ(i, frame.size()) << "one message per frame";
  return p;
}

TEST(EventLogTest, ChangedSectionsBecomeNumberedEvents) {
  EventLog log("e1", 100, 1 << 20);
  EXPECT_EQ(log.last_id(), "e1-0");
  const EventLog::Event* a = log.publish("kpis", R"({"total":1})", 1000);
  ASSERT_NE(a, nullptr);
  const Parsed p = parse(a->frame);
  EXPECT_EQ(p.id, "e1-1");
  EXPECT_EQ(p.event, "kpis");
  EXPECT_EQ(p.data.at("server_time").as_int64(), 1000);
  EXPECT_EQ(p.data.at("data").at("total").as_int64(), 1);
  EXPECT_EQ(log.publish("kpis", R"({"total":1})", 2000), nullptr);  // unchanged: no event
  ASSERT_NE(log.publish("alerts", "[]", 2000), nullptr);
  ASSERT_NE(log.publish("kpis", R"({"total":2})", 3000), nullptr);
  EXPECT_EQ(log.last_id(), "e1-3");
}

TEST(EventLogTest, AReconnectGetsTheEventsItMissed) {
  EventLog log("e1", 100, 1 << 20);
  for (int i = 1; i <= 5; ++i) log.publish("kpis", "{\"n\":" + std::to_string(i) + "}", i);
  const EventLog::Resume r = log.resume("e1-2", 9);
  EXPECT_FALSE(r.snapshot);
  ASSERT_EQ(r.frames.size(), 3u);
  EXPECT_EQ(parse(r.frames[0]).id, "e1-3");
  EXPECT_EQ(parse(r.frames[2]).data.at("data").at("n").as_int64(), 5);
  EXPECT_TRUE(log.resume("e1-5", 9).frames.empty());  // up to date
  EXPECT_FALSE(log.resume("e1-5", 9).snapshot);
}

TEST(EventLogTest, AnIdTooOldForeignOrMalformedGetsASnapshot) {
  EventLog log("e1", 3, 1 << 20);
  for (int i = 1; i <= 10; ++i) log.publish(i % 2 ? "kpis" : "alerts", "{\"n\":" + std::to_string(i) + "}", i);
  for (const char* id : {"e1-2", "e0-9", "e1-x", "e1-", "garbage", "", "e1-99"}) {
    const EventLog::Resume r = log.resume(id, 42);
    EXPECT_TRUE(r.snapshot) << id;
    ASSERT_EQ(r.frames.size(), 1u) << id;
    const Parsed p = parse(r.frames[0]);
    EXPECT_EQ(p.event, "snapshot");
    EXPECT_EQ(p.id, "e1-10");
    EXPECT_EQ(p.data.at("server_time").as_int64(), 42);
    EXPECT_EQ(p.data.at("sections").at("kpis").at("n").as_int64(), 9);
    EXPECT_EQ(p.data.at("sections").at("alerts").at("n").as_int64(), 10);
  }
  // The oldest kept event is 8: resuming after 7 is still a replay.
  EXPECT_FALSE(log.resume("e1-7", 0).snapshot);
  EXPECT_EQ(log.resume("e1-7", 0).frames.size(), 3u);
  EXPECT_TRUE(log.resume("e1-6", 0).snapshot);
}

TEST(EventLogTest, KeepsAtMostItsBoundInBytes) {
  EventLog log("e", 1000, 400);
  for (int i = 0; i < 50; ++i) log.publish("s", "\"" + std::string(100, static_cast<char>('a' + i % 26)) + "\"", i);
  EXPECT_LE(log.kept_bytes(), 400u);
  EXPECT_GE(log.kept_events(), 1u);
  EXPECT_LT(log.kept_events(), 50u);
  // One event larger than the bound is still kept (the latest must be).
  log.publish("s", "\"" + std::string(1000, 'z') + "\"", 99);
  EXPECT_EQ(log.kept_events(), 1u);
}

TEST(EventLogTest, SnapshotJsonHoldsEverySectionAndTheLatestId) {
  EventLog log("e7", 10, 1 << 20);
  EXPECT_EQ(json::parse(log.snapshot_json(5)).at("sections").as_object().size(), 0u);
  log.publish("districts", R"([{"code":"380"}])", 1);
  log.publish("service", R"({"restored":true})", 2);
  const json::value v = json::parse(log.snapshot_json(5));
  EXPECT_EQ(v.at("last_event_id").as_string(), "e7-2");
  EXPECT_EQ(v.at("sections").at("districts").at(0).at("code").as_string(), "380");
  EXPECT_TRUE(v.at("sections").at("service").at("restored").as_bool());
  EXPECT_EQ(log.parse_id("e7-2"), 2u);
  EXPECT_EQ(log.parse_id("e72-2"), std::nullopt);
}

}  // namespace
}  // namespace ioc::wall
