#pragma once
/// Connection settings shared by every Kafka client of a service. Production
/// changes only bootstrap_servers (and security properties); the embedded
/// default is ioc-broker on 127.0.0.1:9092.

#include <map>
#include <string>

#include "ioc/core/topics.hpp"

namespace ioc::kafka {

struct ClientConfig {
  std::string bootstrap_servers = "127.0.0.1:9092";
  std::string client_id = "ioc";
  /// Extra librdkafka properties (e.g. security.protocol, sasl.*), applied last.
  std::map<std::string, std::string> properties;
};

/// The project's topics (ARCHITECTURE.md, "Topics and keys").
namespace topics = ::ioc::topics;

}  // namespace ioc::kafka
