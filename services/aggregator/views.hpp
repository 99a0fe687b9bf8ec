#pragma once
/// Views from config: what the aggregator computes, read from views.yaml
/// (see deploy/config/views.yaml for the language). Each view names its
/// input stream, a filter, group-by fields, a time attribute, a window of
/// any kind libs/window has, and its aggregations; load_views() validates
/// all of it up front, and errors name the file, line, key and what is
/// allowed. Record is one decoded input record with its fields by name.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ioc/core/model.hpp"
#include "ioc/core/result.hpp"
#include "ioc/window/spec.hpp"

namespace ioc::aggregator {

enum class Stream : std::uint8_t { kReports, kTransactions, kTelemetry };
inline constexpr std::size_t kStreams = 3;
const char* to_string(Stream stream);
const char* topic_of(Stream stream);

/// Which time a view's windows use.
enum class TimeAttribute : std::uint8_t {
  kOccurredAt,  // event time, from the source
  kReceivedAt,  // when intake (or the feed) accepted it
  kIngest,      // the Kafka record's timestamp
};

/// A field of an input record. Text fields group, filter and count_where;
/// numeric ones (processing_ms, value, occurred_at, received_at in epoch
/// seconds) feed sum/min/max/mean/last/quantiles.
enum class Field : std::uint8_t {
  kDistrict,
  kCategory,
  kSource,
  kId,
  kServiceCode,
  kServiceLevel,
  kChannel,
  kStatus,
  kProcessingMs,
  kSourceId,
  kKind,
  kValue,
  kUnit,
  kOccurredAt,
  kReceivedAt,
};
const char* to_string(Field field);

/// `field` has one of `values`.
struct Match {
  Field field = Field::kDistrict;
  std::vector<std::string> values;
};

/// A derived value: value_names[numerator] / sum of value_names[denominator]
/// (0 when the denominator is 0).
struct Ratio {
  std::string name;
  std::size_t numerator = 0;
  std::vector<std::size_t> denominator;
};

inline constexpr std::size_t kMaxGroupBy = 6;

struct ViewConfig {
  window::ViewSpec spec;  // name, window, lateness, emission, aggregations
  Stream stream = Stream::kReports;
  TimeAttribute time = TimeAttribute::kOccurredAt;
  std::vector<Match> filter;                // all must match
  std::vector<Field> group_by;              // always includes district
  std::vector<std::string> group_names;     // label names, in group_by order
  std::optional<Field> value_field;         // read by value aggregations
  std::optional<Field> distinct_field;      // read by distinct
  std::vector<Match> count_where;           // Event::fields[i] = 1 when count_where[i] matches
  std::vector<Ratio> ratios;
  std::vector<std::string> value_names;     // engine values, then ratios
  std::vector<std::size_t> gauge_values;    // indices into value_names exported as gauges
  std::size_t max_series = 0;               // gauge series per view at most
};

/// Parses and validates a views file; throws ConfigError naming the file,
/// the line and the key (e.g. `views.yaml: line 12: views.reports_1m.window:
/// ...`).
std::vector<ViewConfig> load_views(const std::string& path);
std::vector<ViewConfig> parse_views(std::string_view yaml, const std::string& file);

/// One input record of any stream, decoded into a reusable buffer (no
/// allocation per record once the strings have grown).
class Record {
 public:
  [[nodiscard]] Status decode(Stream stream, std::string_view bytes, std::int64_t kafka_timestamp_ms);
  Stream stream() const { return stream_; }
  /// "" for a field the stream does not have.
  std::string_view text(Field field) const;
  /// nullopt for a text field.
  std::optional<double> number(Field field) const;
  std::int64_t time_ms(TimeAttribute time) const;
  /// The id kept as evidence: report id, application id or station id.
  const std::string& id() const;
  const std::string& district() const;
  TimePoint occurred_at() const;

  // Test helpers: set a record without encoding it.
  void set(const Report& r, std::int64_t kafka_ts = 0);
  void set(const ServiceTransaction& t, std::int64_t kafka_ts = 0);
  void set(const Telemetry& t, std::int64_t kafka_ts = 0);

 private:
  Stream stream_ = Stream::kReports;
  std::int64_t kafka_ts_ = 0;
  Report report_;
  ServiceTransaction tx_;
  Telemetry tm_;
};

}  // namespace ioc::aggregator
