#pragma once
/// ioc-topics: creates the project's topics on a Kafka cluster, with their
/// partitions, replication and configs (topics.* settings), and checks the
/// ones that exist. Idempotent: only missing topics are created; a topic
/// with another partition count is reported, never changed (adding
/// partitions moves keys to other partitions). The embedded broker creates
/// its topics itself and does not support CreateTopics.

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

/// Prints one line per topic; returns 0 when every topic exists as planned
/// (after creating the missing ones unless `check_only`), 1 otherwise.
int run(const Config& cfg, bool check_only, std::ostream& out);

}  // namespace ioc::topics
