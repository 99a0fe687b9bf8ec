#pragma once
/// Domain records as plain structs: what flows through the topics, free of
/// protobuf. ioc::codec converts them to and from the wire schemas in proto/.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ioc/core/clock.hpp"

namespace ioc {

struct GeoPoint {
  double lat = 0;
  double lon = 0;
  friend bool operator==(const GeoPoint&, const GeoPoint&) = default;
};

struct Report {
  std::string id;
  std::string category;
  std::string district;
  std::string description;
  std::optional<GeoPoint> location;
  TimePoint occurred_at{};
  TimePoint received_at{};
  std::string reporter_id;
  std::vector<std::string> media_urls;
  std::string source;  // "api", "open311"
  std::string address;
  std::string client;           // API key name ("" with authentication off)
  std::string idempotency_key;  // the client's Idempotency-Key, if any
  std::uint64_t content_hash = 0;  // of the report as the client sent it (0: not recorded)
  std::string address_id;       // Open311 address_id
  std::vector<std::pair<std::string, std::string>> attributes;  // code, value: kept, not interpreted
  friend bool operator==(const Report&, const Report&) = default;
};

/// An operator's update to a report (topic ioc.report-status.v1).
struct ReportStatus {
  std::string report_id;
  std::string status;  // "acknowledged" | "in_progress" | "resolved" | "closed" | "rejected"
  std::string note;
  std::string operator_id;
  TimePoint updated_at{};
  std::string agency;
  friend bool operator==(const ReportStatus&, const ReportStatus&) = default;
};

enum class Channel { kUnspecified, kOnline, kCounter };
enum class TransactionStatus { kUnspecified, kSubmitted, kCompleted, kOverdue };
enum class ServiceLevel { kUnspecified, kPartialOnline, kFullOnline };

struct ServiceTransaction {
  std::string id;
  std::string district;
  std::string service_code;
  ServiceLevel service_level = ServiceLevel::kUnspecified;
  Channel channel = Channel::kUnspecified;
  TransactionStatus status = TransactionStatus::kUnspecified;
  TimePoint occurred_at{};
  TimePoint received_at{};
  std::int64_t processing_ms = 0;
  friend bool operator==(const ServiceTransaction&, const ServiceTransaction&) = default;
};

enum class TelemetryKind { kUnspecified, kBtsHeartbeat, kWaterLevel, kRainfall, kAirQuality, kPower };

struct Telemetry {
  std::string source_id;
  std::string district;
  TelemetryKind kind = TelemetryKind::kUnspecified;
  double value = 0;
  std::string unit;
  TimePoint occurred_at{};
  TimePoint received_at{};
  friend bool operator==(const Telemetry&, const Telemetry&) = default;
};

/// One reading of an air-quality monitoring station (topic ioc.air-quality.v1).
struct AirQualityReading {
  std::string station_id;
  std::string district;
  double pm25 = 0;  // PM2.5, µg/m³ (24 h WHO guideline: 15)
  double pm10 = 0;  // PM10, µg/m³
  double aqi = 0;   // air quality index, 0-500 (above 200: very unhealthy)
  TimePoint occurred_at{};
  TimePoint received_at{};
  friend bool operator==(const AirQualityReading&, const AirQualityReading&) = default;
};

/// One dimension of a group key.
struct Label {
  std::string name;
  std::string value;
  friend bool operator==(const Label&, const Label&) = default;
};

/// A WindowResult's revision is epoch << 32 | final << 31 | n: this bit marks
/// the final result, above every early one of its epoch
/// (proto/ioc/v1/window_result.proto).
inline constexpr std::uint64_t kFinalRevision = std::uint64_t{1} << 31;

/// One window's aggregate for one group of one view (topic ioc.aggregates.v1).
struct WindowResult {
  struct Value {
    std::string name;
    double value = 0;
    friend bool operator==(const Value&, const Value&) = default;
  };
  std::string view;
  std::vector<Label> group;
  TimePoint window_start{};
  TimePoint window_end{};
  std::uint64_t revision = 0;  // see proto/ioc/v1/window_result.proto
  bool final = false;
  std::int64_t count = 0;
  std::vector<Value> values;
  std::vector<std::string> sample_ids;
  TimePoint watermark{};
  std::int32_t input_partition = 0;  // whose watermark `watermark` is (see the proto)
  friend bool operator==(const WindowResult&, const WindowResult&) = default;
};

/// A change of an alert's state (topic ioc.alerts.v1, key: fingerprint).
struct AlertEvent {
  /// Numbered as in proto/ioc/v1/alert_event.proto. kInactive: a pending
  /// alert whose condition ended before it fired (it was never notified).
  enum class State : std::uint8_t { kUnspecified, kFiring, kResolved, kPending, kInactive };
  std::string fingerprint;  // stable hash of rule + group labels
  std::string id;           // one firing episode: fingerprint + "-" + starts_at ms
  std::string rule;
  State state = State::kUnspecified;
  std::string severity;     // info | warning | critical
  std::string view;
  std::vector<Label> group;
  TimePoint window_start{};
  TimePoint window_end{};
  double value = 0;
  double threshold = 0;
  std::string comparator;
  std::vector<std::string> sample_ids;
  std::string category;      // FIWARE Smart Data Models Alert category, e.g. naturalDisaster
  std::string sub_category;  // e.g. flood
  std::string description;
  std::string summary;
  std::string scenario;      // what the operator should do
  std::vector<Label> labels;
  std::vector<Label> annotations;
  TimePoint starts_at{};
  TimePoint ends_at{};  // resolved only
  TimePoint sent_at{};
  std::uint32_t revision = 0;
  friend bool operator==(const AlertEvent&, const AlertEvent&) = default;
};

const char* to_string(AlertEvent::State state);

/// The record key of a WindowResult: "<view>|<v1>/<v2>...|<window start ms>".
std::string window_result_key(const WindowResult& r);

}  // namespace ioc
