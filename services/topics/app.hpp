#pragma once
/// ioc-topics: creates the project's topics on a Kafka cluster, with their
/// partitions, replication and configs (topics.* settings), waits until
/// every broker shows them, and compares the ones that exist with the plan.
/// Idempotent: only missing topics are created; a topic that differs
/// (partitions, replication, a planned config) is reported with the command
/// that fixes it, never changed (adding partitions moves keys to other
/// partitions). The embedded broker creates its topics itself and supports
/// neither CreateTopics nor DescribeConfigs.

#include <chrono>
#include <ostream>

#include "ioc/config/source.hpp"
#include "ioc/daemon/daemon.hpp"

namespace ioc::topics {

struct Config {
  daemon::CommonConfig common;
  std::chrono::milliseconds timeout{30'000};
};

Config load_config(config::Source& src);

/// What `ioc-topics --help` adds: `--check`, the replication rule, the exit codes.
extern const char* const kUsage;

/// Prints what it waits for while creating, then one line per topic (one
/// per difference for a topic that differs, followed by how to fix it);
/// returns 0 when every topic exists as planned (after creating the missing
/// ones unless `check_only`), 1 otherwise. Throws ConfigError (exit 2) when
/// the planned replication exceeds the cluster's broker count.
int run(const Config& cfg, bool check_only, std::ostream& out);

}  // namespace ioc::topics
