#pragma once
/// The project's topics as a cluster must hold them: partitions, replication
/// and topic configs. One plan serves the embedded broker (which creates it
/// at start), `ioc-topics` (which creates it, idempotently, on a real
/// cluster) and every service's start check.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "ioc/core/result.hpp"

namespace ioc::kafka {

class Admin;

struct TopicSpec {
  std::string name;
  int partitions = 1;  // check_topics(): 0 accepts any count
  int replication = -1;  // -1: the cluster's default.replication.factor
  std::map<std::string, std::string> configs;
};

/// The topics of ARCHITECTURE.md with `partitions` each (telemetry twice as
/// many, alerts and dead letters 3): keyed state (aggregates, alerts, the
/// aggregator's checkpoints) is compacted, dead letters are kept 30 days.
std::vector<TopicSpec> project_topics(int partitions, int replication);

/// How a cluster's topics compare with a plan.
struct TopicCheck {
  std::vector<std::string> missing;
  /// "<topic>: 1 partitions, expected 6": keys then land elsewhere than the
  /// plan assumes, and fewer partitions cap the replicas that can share work.
  std::vector<std::string> mismatched;
  bool ok() const { return missing.empty() && mismatched.empty(); }
};
[[nodiscard]] Result<TopicCheck> check_topics(Admin& admin, const std::vector<TopicSpec>& plan,
                                              std::chrono::milliseconds timeout);

struct TopicOutcome {
  std::string name;
  bool created = false;  // false: it existed (or creating it failed: see status)
  Status status;
};
/// Creates the plan's missing topics; running it again changes nothing.
[[nodiscard]] Result<std::vector<TopicOutcome>> create_missing_topics(Admin& admin, const std::vector<TopicSpec>& plan,
                                                                      std::chrono::milliseconds timeout);

}  // namespace ioc::kafka
