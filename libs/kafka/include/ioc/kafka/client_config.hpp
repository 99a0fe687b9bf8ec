#pragma once
/// Connection settings shared by every Kafka client of a service. Production
/// changes only bootstrap_servers (and security properties); the embedded
/// default is ioc-broker on 127.0.0.1:9092.

#include <map>
#include <string>

namespace ioc::kafka {

struct ClientConfig {
  std::string bootstrap_servers = "127.0.0.1:9092";
  std::string client_id = "ioc";
  /// Extra librdkafka properties (e.g. security.protocol, sasl.*), applied last.
  std::map<std::string, std::string> properties;
};

/// The project's topics (ARCHITECTURE.md, "Topics and keys").
namespace topics {
inline constexpr const char* kReports = "ioc.reports.v1";
inline constexpr const char* kReportStatus = "ioc.report-status.v1";
inline constexpr const char* kTransactions = "ioc.transactions.v1";
inline constexpr const char* kTelemetry = "ioc.telemetry.v1";
inline constexpr const char* kAggregates = "ioc.aggregates.v1";
inline constexpr const char* kAlerts = "ioc.alerts.v1";
inline constexpr const char* kDeadLetter = "ioc.deadletter.v1";
inline constexpr const char* kAggregatorState = "ioc.aggregator.state.v1";
}  // namespace topics

}  // namespace ioc::kafka
