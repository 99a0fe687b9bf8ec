#pragma once
/// The project's topics as a cluster must hold them: partitions, replication
/// and topic configs. One plan serves the embedded broker (which creates it
/// at start), `ioc-topics` (which creates it, idempotently, on a real
/// cluster) and every service's start check.
///
/// A real cluster learns of a new topic broker by broker: the controller
/// creates it, then tells the others. Creation is therefore done only when
/// every broker's metadata shows the topic (TopicSetup), and a topic some
/// broker does not show yet is not "missing".

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ioc/core/result.hpp"

namespace ioc::kafka {

class Admin;

struct TopicSpec {
  std::string name;
  int partitions = 1;    // check_topics(): 0 accepts any count
  int replication = -1;  // -1: the cluster's default.replication.factor; check_topics(): 0 accepts any
  std::map<std::string, std::string> configs;
};

/// The topics of ARCHITECTURE.md with `partitions` each (telemetry twice as
/// many, alerts and dead letters 3): keyed state (aggregates, alerts, the
/// aggregator's checkpoints) is compacted, dead letters are kept 30 days.
std::vector<TopicSpec> project_topics(int partitions, int replication);

/// One topic as one broker's metadata shows it.
struct TopicInfo {
  std::string name;
  int partitions = 0;
  int replication = 0;  // replicas of its partition with the fewest
  int leaderless = 0;   // partitions without a leader now (just created, or every replica down)
};

/// What one broker answered about the cluster's topics.
struct BrokerTopics {
  std::int32_t broker_id = -1;
  bool answered = false;  // false: `error` says why
  std::string error;
  std::vector<TopicInfo> topics;
};

/// What CreateTopics did with one topic.
struct TopicCreation {
  std::string name;
  bool existed = false;  // the cluster had it already (TOPIC_ALREADY_EXISTS)
  Status status;         // kUnavailable: worth asking again (timed out, controller moving)
};

/// One way an existing topic differs from its plan.
struct TopicDifference {
  enum class Kind { kPartitions, kReplication, kConfig };
  std::string topic;
  Kind kind = Kind::kPartitions;
  std::string config;  // kConfig: the config's name
  std::string actual;  // kConfig: empty when the cluster does not report it
  std::string expected;
  bool expected_is_default = false;  // kReplication: the plan said -1, `expected` is the cluster's default
  /// "ioc.reports.v1: 1 partitions, expected 6", "ioc.alerts.v1:
  /// cleanup.policy=delete, expected compact".
  std::string describe() const;
};

/// Compares one existing topic with its plan: the partition count (unless
/// the plan says 0), the replication (the plan's; with -1 the cluster's
/// `default_replication` when known), and every config the plan sets (when
/// `configs`, the topic's configs as the cluster reports them, is given).
/// Pure.
std::vector<TopicDifference> compare_topic(const TopicSpec& want, const TopicInfo& have,
                                           const std::map<std::string, std::string>* configs,
                                           std::optional<int> default_replication);

/// How a cluster's topics compare with a plan.
struct TopicCheck {
  std::vector<std::string> missing;
  /// One entry per difference: keys land elsewhere than the plan assumes
  /// (partitions), fewer copies survive a broker loss (replication), state
  /// is not compacted or kept as long as planned (configs).
  std::vector<TopicDifference> differences;
  /// What could not be compared, and why ("configs not checked (the broker
  /// does not support DescribeConfigs)").
  std::vector<std::string> notes;
  bool ok() const { return missing.empty() && differences.empty(); }
};
/// Reads the cluster's metadata and, through DescribeConfigs, the planned
/// topics' configs and the brokers' default.replication.factor; a cluster
/// without DescribeConfigs (the embedded broker) is compared on partitions
/// and explicit replication only, with a note. Blocks, each request for at
/// most `timeout`.
[[nodiscard]] Result<TopicCheck> check_topics(Admin& admin, const std::vector<TopicSpec>& plan,
                                              std::chrono::milliseconds timeout);

struct TopicOutcome {
  std::string name;
  bool created = false;  // false: it existed (or creating it failed: see status)
  Status status;
};

/// The decisions of creating a plan's topics, from what the brokers answer:
/// what to create, what to ask for again (an answer that timed out may still
/// have created the topic: it then counts as created here), and what to wait
/// for (every broker's metadata showing each topic; a topic created here
/// also with a leader for each partition). Does no I/O and reads no clock.
/// Not thread-safe.
class TopicSetup {
 public:
  explicit TopicSetup(std::vector<TopicSpec> plan);

  /// What each broker's metadata shows now (one entry per broker of the
  /// cluster, answered or not).
  void observe(const std::vector<BrokerTopics>& brokers);
  /// The topics to send in a CreateTopics request now: seen by no broker,
  /// not created yet, not failed.
  [[nodiscard]] std::vector<TopicSpec> to_create() const;
  /// kOutOfRange when a topic to create plans more replicas than the
  /// cluster has brokers (Kafka places each replica on its own broker).
  [[nodiscard]] std::optional<Error> replication_error() const;
  /// The answers to a CreateTopics request for `to_create()`.
  void created(const std::vector<TopicCreation>& answers);
  /// The whole request failed: asked again when retriable (kUnavailable,
  /// kDeadlineExceeded), else every topic in it failed.
  void create_failed(const std::vector<TopicSpec>& asked, const Error& error);

  /// Every topic visible where it must be, or failed.
  [[nodiscard]] bool settled() const;
  /// "ioc.telemetry.v1: visible on 2 of 3 brokers", once per topic still
  /// waited for and per change of what it waits for.
  [[nodiscard]] std::vector<std::string> progress();
  /// One per planned topic, in plan order. A topic not created, or not
  /// shown by every broker, yet fails with kDeadlineExceeded saying what
  /// it waited for (asked when the time is up).
  [[nodiscard]] std::vector<TopicOutcome> outcomes() const;

 private:
  struct Topic {
    TopicSpec spec;
    bool exists = false;   // seen on a broker, or the cluster said it has it
    bool created = false;  // created by this setup
    int attempts = 0;      // CreateTopics requests that carried it
    std::string retry;     // why the last request is asked again
    std::optional<Error> failure;
    int visible = 0;     // brokers whose metadata shows it
    int leaderless = 0;  // most partitions without a leader on one broker
    int partitions = 0;
    std::string reported;  // the last progress line
  };
  [[nodiscard]] bool ready(const Topic& t) const;
  [[nodiscard]] std::string waiting_for(const Topic& t) const;
  Topic* find(const std::string& name);

  std::vector<Topic> topics_;
  int brokers_ = 0;
  std::vector<std::string> silent_;  // brokers that did not answer, as "broker 2 (timed out)"
  bool observed_ = false;
};

/// Creates the plan's missing topics and waits, within `timeout`, until
/// every broker shows them; `progress` receives what it waits for
/// ("ioc.telemetry.v1: visible on 2 of 3 brokers"). Running it again
/// changes nothing: existing topics come back with created = false.
/// kOutOfRange when the plan needs more brokers than the cluster has.
/// Blocks; polls the brokers a few times a second.
[[nodiscard]] Result<std::vector<TopicOutcome>> create_missing_topics(
    Admin& admin, const std::vector<TopicSpec>& plan, std::chrono::milliseconds timeout,
    const std::function<void(const std::string&)>& progress = {});

}  // namespace ioc::kafka
