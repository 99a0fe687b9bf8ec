#pragma once
/// ioc-broker: the embedded default broker. librdkafka's mock cluster speaks
/// the real Kafka protocol from memory; a proxy makes it reachable at a
/// stable bootstrap address (127.0.0.1:9092); the project's topics are
/// created at start; a retention watch exposes per-partition log start/end
/// offsets and warns when a consumer group fell behind what the broker keeps.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "ioc/config/source.hpp"
#include "ioc/daemon/daemon.hpp"
#include "ioc/kafka/embedded_broker.hpp"

namespace ioc::broker {

struct Config {
  daemon::CommonConfig common;
  config::HostPort bootstrap;  // stable address clients bootstrap from
  int brokers = 1;
  std::vector<kafka::TopicSpec> topics;
  std::chrono::milliseconds monitor_interval{5000};
  std::vector<std::string> watch_groups;
  std::string address_file;  // when set, the bootstrap address is written there
};

/// Throws ioc::ConfigError on bad settings.
Config load_config(config::Source& src);

/// Runs until SIGINT/SIGTERM; returns the exit code.
int run(const Config& cfg);

}  // namespace ioc::broker
