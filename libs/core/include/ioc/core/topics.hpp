#pragma once
/// The project's topics (ARCHITECTURE.md, "Topics and keys"): names only.
/// Their plan (partitions, configs) is kafka::project_topics; the input
/// streams that read them are declared in ioc/views/streams.hpp.

namespace ioc::topics {

inline constexpr const char* kReports = "ioc.reports.v1";
inline constexpr const char* kReportStatus = "ioc.report-status.v1";
inline constexpr const char* kTransactions = "ioc.transactions.v1";
inline constexpr const char* kTelemetry = "ioc.telemetry.v1";
inline constexpr const char* kAirQuality = "ioc.air-quality.v1";
inline constexpr const char* kAggregates = "ioc.aggregates.v1";
inline constexpr const char* kAlerts = "ioc.alerts.v1";
inline constexpr const char* kDeadLetter = "ioc.deadletter.v1";
inline constexpr const char* kAggregatorState = "ioc.aggregator.state.v1";

}  // namespace ioc::topics
