#include "ioc/kafka/topics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ioc::kafka {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const TopicSpec kAlerts{"ioc.alerts.v1", 3, 3, {{"cleanup.policy", "compact"}}};
const TopicSpec kTelemetry{"ioc.telemetry.v1", 12, -1, {}};

std::vector<std::string> described(const std::vector<TopicDifference>& ds) {
  std::vector<std::string> out;
  out.reserve(ds.size());
  for (const TopicDifference& d : ds) out.push_back(d.describe());
  return out;
}

TEST(CompareTopicTest, NamesEachDifference) {
  const std::map<std::string, std::string> configs = {{"cleanup.policy", "delete"}, {"retention.ms", "604800000"}};
  EXPECT_THAT(described(compare_topic(kAlerts, {"ioc.alerts.v1", 1, 2, 0}, &configs, 3)),
              ElementsAre("ioc.alerts.v1: 1 partitions, expected 3", "ioc.alerts.v1: replication 2, expected 3",
                          "ioc.alerts.v1: cleanup.policy=delete, expected compact"));
}

TEST(CompareTopicTest, TopicAsPlannedHasNoDifference) {
  const std::map<std::string, std::string> configs = {{"cleanup.policy", "compact"}, {"retention.ms", "604800000"}};
  EXPECT_THAT(compare_topic(kAlerts, {"ioc.alerts.v1", 3, 3, 0}, &configs, 1), IsEmpty());
}

TEST(CompareTopicTest, ConfigsAreComparedOnlyWhenKnown) {
  EXPECT_THAT(compare_topic(kAlerts, {"ioc.alerts.v1", 3, 3, 0}, nullptr, std::nullopt), IsEmpty());
  const std::map<std::string, std::string> none;
  EXPECT_THAT(described(compare_topic(kAlerts, {"ioc.alerts.v1", 3, 3, 0}, &none, std::nullopt)),
              ElementsAre("ioc.alerts.v1: cleanup.policy not set, expected compact"));
}

TEST(CompareTopicTest, ClusterDefaultReplicationIsComparedWhenKnown) {
  EXPECT_THAT(described(compare_topic(kTelemetry, {"ioc.telemetry.v1", 12, 1, 0}, nullptr, 3)),
              ElementsAre("ioc.telemetry.v1: replication 1, expected 3 (the cluster's default.replication.factor)"));
  EXPECT_THAT(compare_topic(kTelemetry, {"ioc.telemetry.v1", 12, 1, 0}, nullptr, std::nullopt), IsEmpty());
}

TEST(CompareTopicTest, ZeroAcceptsAnyPartitionsAndReplication) {
  EXPECT_THAT(compare_topic({"ioc.other.v1", 0, 0, {}}, {"ioc.other.v1", 7, 2, 0}, nullptr, 3), IsEmpty());
}

// ------------------------------------------------------------ TopicSetup

BrokerTopics broker(std::int32_t id, std::vector<TopicInfo> topics) { return {id, true, {}, std::move(topics)}; }
BrokerTopics silent(std::int32_t id) { return {id, false, "Local: Timed out", {}}; }
TopicInfo info(const TopicSpec& t, int leaderless = 0) { return {t.name, t.partitions, 3, leaderless}; }

std::vector<std::string> names(const std::vector<TopicSpec>& specs) {
  std::vector<std::string> out;
  out.reserve(specs.size());
  for (const TopicSpec& s : specs) out.push_back(s.name);
  return out;
}

TEST(TopicSetupTest, CreatesWhatNoBrokerShowsAndWaitsUntilEveryBrokerShowsIt) {
  TopicSetup setup({kAlerts, kTelemetry});
  setup.observe({broker(0, {}), broker(1, {}), broker(2, {})});
  EXPECT_THAT(names(setup.to_create()), ElementsAre("ioc.alerts.v1", "ioc.telemetry.v1"));
  setup.created({{"ioc.alerts.v1", false, {}}, {"ioc.telemetry.v1", false, {}}});
  EXPECT_THAT(setup.to_create(), IsEmpty());

  // The controller knows them; the other brokers learn of them later.
  setup.observe({broker(0, {info(kAlerts), info(kTelemetry)}), broker(1, {info(kAlerts)}), broker(2, {})});
  EXPECT_FALSE(setup.settled());
  EXPECT_THAT(setup.progress(),
              ElementsAre("ioc.alerts.v1: visible on 2 of 3 brokers", "ioc.telemetry.v1: visible on 1 of 3 brokers"));
  EXPECT_THAT(setup.progress(), IsEmpty()) << "said once, until it changes";

  setup.observe({broker(0, {info(kAlerts), info(kTelemetry)}), broker(1, {info(kAlerts), info(kTelemetry)}),
                 broker(2, {info(kAlerts)})});
  EXPECT_THAT(setup.progress(), ElementsAre("ioc.telemetry.v1: visible on 2 of 3 brokers"));
  const std::vector<BrokerTopics> all = {broker(0, {info(kAlerts), info(kTelemetry)}),
                                         broker(1, {info(kAlerts), info(kTelemetry)}),
                                         broker(2, {info(kAlerts), info(kTelemetry)})};
  setup.observe(all);
  EXPECT_TRUE(setup.settled());
  const auto out = setup.outcomes();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].created && out[0].status.ok());
  EXPECT_TRUE(out[1].created && out[1].status.ok());
}

TEST(TopicSetupTest, TopicSomeBrokerShowsIsNotCreatedAgain) {
  // A second run while the cluster still spreads the news: not "missing",
  // not created again, waited for, and reported as existing.
  TopicSetup setup({kTelemetry});
  setup.observe({broker(0, {info(kTelemetry)}), broker(1, {}), broker(2, {info(kTelemetry)})});
  EXPECT_THAT(setup.to_create(), IsEmpty());
  EXPECT_THAT(setup.progress(), ElementsAre("ioc.telemetry.v1: visible on 2 of 3 brokers"));
  setup.observe({broker(0, {info(kTelemetry)}), broker(1, {info(kTelemetry)}), broker(2, {info(kTelemetry)})});
  ASSERT_TRUE(setup.settled());
  EXPECT_FALSE(setup.outcomes()[0].created);
  EXPECT_TRUE(setup.outcomes()[0].status.ok());
}

TEST(TopicSetupTest, TopicTheClusterAlreadyHasCountsAsExisting) {
  // No broker shows it yet, but the controller has it: TOPIC_ALREADY_EXISTS
  // on the first request means someone else created it.
  TopicSetup setup({kAlerts});
  setup.observe({broker(0, {}), broker(1, {}), broker(2, {})});
  setup.created({{"ioc.alerts.v1", true, {}}});
  setup.observe({broker(0, {info(kAlerts)}), broker(1, {info(kAlerts)}), broker(2, {info(kAlerts)})});
  ASSERT_TRUE(setup.settled());
  EXPECT_FALSE(setup.outcomes()[0].created);
}

TEST(TopicSetupTest, TimedOutRequestIsAskedAgainAndCountsAsCreated) {
  TopicSetup setup({kAlerts, kTelemetry});
  setup.observe({broker(0, {}), broker(1, {})});
  setup.created({{"ioc.alerts.v1", false, {}},
                 {"ioc.telemetry.v1", false, unavailable("create ioc.telemetry.v1: Broker: Request timed out")}});
  setup.observe({broker(0, {info(kAlerts)}), broker(1, {info(kAlerts)})});
  EXPECT_THAT(names(setup.to_create()), ElementsAre("ioc.telemetry.v1"));
  EXPECT_THAT(setup.progress(),
              ElementsAre("ioc.telemetry.v1: create ioc.telemetry.v1: Broker: Request timed out; asking again"));
  EXPECT_EQ(setup.outcomes()[1].status.error().message,
            "not created in time (last answer: create ioc.telemetry.v1: Broker: Request timed out)");
  // The timed-out request did create it.
  setup.created({{"ioc.telemetry.v1", true, {}}});
  setup.observe({broker(0, {info(kAlerts), info(kTelemetry)}), broker(1, {info(kAlerts), info(kTelemetry)})});
  ASSERT_TRUE(setup.settled());
  EXPECT_TRUE(setup.outcomes()[1].created);
}

TEST(TopicSetupTest, RequestThatFailedAsAWholeIsAskedAgainWhenRetriable) {
  TopicSetup setup({kAlerts});
  setup.observe({broker(0, {})});
  setup.create_failed(setup.to_create(), unavailable("create topics: Local: Timed out"));
  setup.observe({broker(0, {info(kAlerts)})});  // it was created after all
  ASSERT_TRUE(setup.settled());
  EXPECT_TRUE(setup.outcomes()[0].created);
}

TEST(TopicSetupTest, PermanentFailureEndsOnlyThatTopic) {
  TopicSetup setup({kAlerts, kTelemetry});
  setup.observe({broker(0, {})});
  setup.created({{"ioc.alerts.v1", false, Error{ErrorCode::kInvalidArgument, "create ioc.alerts.v1: bad config"}},
                 {"ioc.telemetry.v1", false, {}}});
  EXPECT_THAT(setup.to_create(), IsEmpty());
  EXPECT_FALSE(setup.settled());
  setup.observe({broker(0, {info(kTelemetry)})});
  ASSERT_TRUE(setup.settled());
  const auto out = setup.outcomes();
  EXPECT_EQ(out[0].status.error().message, "create ioc.alerts.v1: bad config");
  EXPECT_TRUE(out[1].status.ok());

  TopicSetup unsupported({kAlerts});
  unsupported.observe({broker(0, {})});
  unsupported.create_failed(unsupported.to_create(), Error{ErrorCode::kInternal, "create topics: not supported"});
  EXPECT_TRUE(unsupported.settled());
}

TEST(TopicSetupTest, CreatedTopicWaitsForItsLeaders) {
  TopicSetup setup({kAlerts});
  setup.observe({broker(0, {})});
  setup.created({{"ioc.alerts.v1", false, {}}});
  setup.observe({broker(0, {info(kAlerts, 2)})});
  EXPECT_FALSE(setup.settled());
  EXPECT_THAT(setup.progress(),
              ElementsAre("ioc.alerts.v1: visible on 1 of 1 brokers, 2 of 3 partitions without a leader"));
  setup.observe({broker(0, {info(kAlerts)})});
  EXPECT_TRUE(setup.settled());
}

TEST(TopicSetupTest, BrokerThatDoesNotAnswerIsWaitedFor) {
  TopicSetup setup({kAlerts});
  setup.observe({broker(0, {info(kAlerts)}), silent(1)});
  EXPECT_FALSE(setup.settled());
  EXPECT_THAT(setup.progress(),
              ElementsAre("ioc.alerts.v1: visible on 1 of 2 brokers; no answer from broker 1 (Local: Timed out)"));
  // Out of time: the outcome says what it waited for.
  const auto out = setup.outcomes();
  ASSERT_FALSE(out[0].status.ok());
  EXPECT_EQ(out[0].status.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(out[0].status.error().message,
            "not shown by every broker in time: visible on 1 of 2 brokers; no answer from broker 1 (Local: Timed out)");
}

TEST(TopicSetupTest, ReplicationAboveTheBrokerCountIsAnErrorNamingTheCount) {
  TopicSetup setup({kAlerts, kTelemetry});
  setup.observe({broker(0, {})});
  const auto e = setup.replication_error();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, ErrorCode::kOutOfRange);
  EXPECT_THAT(e->message, ::testing::StartsWith("replication 3 is more than the 1 broker(s) the cluster has"));

  // Only topics still to create matter; the cluster default (-1) never does.
  TopicSetup existing({kAlerts, kTelemetry});
  existing.observe({broker(0, {info(kAlerts)})});
  EXPECT_FALSE(existing.replication_error().has_value());
}

TEST(TopicSetupTest, NothingIsDecidedBeforeTheFirstAnswer) {
  TopicSetup setup({kAlerts});
  EXPECT_THAT(setup.to_create(), IsEmpty());
  EXPECT_FALSE(setup.settled());
  EXPECT_EQ(setup.outcomes()[0].status.error().message, "the cluster did not answer");
}

}  // namespace
}  // namespace ioc::kafka
