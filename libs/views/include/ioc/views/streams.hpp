#pragma once
/// The input streams, each declared once: its name in views files, its
/// topic, its domain record (ioc/core/model.hpp) and its fields, each with
/// the accessor that reads it. The view language (catalog.hpp), the
/// aggregator's records and the simulator all derive from `InputStreams`;
/// a stream missing a piece does not compile (see the static_asserts at the
/// end). docs/extending.md walks through adding one.
///
/// Constant tables and pure functions: thread-safe.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "ioc/core/model.hpp"
#include "ioc/core/topics.hpp"

namespace ioc::views {

/// A stream by its position in InputStreams (stored in checkpoints and
/// view fingerprints: append new streams, never reorder).
enum class Stream : std::uint8_t { kReports, kTransactions, kTelemetry, kAirQuality };

/// A field by its position in its stream's kFields.
using FieldId = std::uint8_t;

/// What a text field's values must be known to before a record counts
/// (a record with an unknown district or category is dead-lettered).
enum class Known : std::uint8_t { kAnything, kDistrict, kCategory };

/// What the view language knows of a field, whatever its stream.
struct FieldInfo {
  std::string_view name;
  bool numeric = false;  // numeric: sum/min/max/mean/last/quantiles; text: group, filter, count_where, distinct
  std::span<const std::string_view> values;  // an enumeration's values (filters are checked against them)
  Known known = Known::kAnything;
};

/// One field of record type R, with its accessor: `text` for text fields,
/// `number` for numeric ones (the other is null).
template <typename R>
struct FieldOf {
  FieldInfo info;
  std::string_view (*text)(const R&) = nullptr;
  double (*number)(const R&) = nullptr;
};

namespace detail {

template <typename M>
struct MemberOf;
template <typename C, typename T>
struct MemberOf<T C::*> {
  using Class = C;
  using Type = T;
};
template <auto M>
using ClassOf = typename MemberOf<decltype(M)>::Class;

}  // namespace detail

/// A text member (std::string).
template <auto M>
constexpr FieldOf<detail::ClassOf<M>> text(std::string_view name, Known known = Known::kAnything) {
  using R = detail::ClassOf<M>;
  return {{name, false, {}, known}, [](const R& r) -> std::string_view { return r.*M; }, nullptr};
}

/// An enum member named by `Names` (indexed by the enum's value; 0, the
/// unspecified value, is "" and not offered to filters).
template <auto M, const auto& Names>
constexpr FieldOf<detail::ClassOf<M>> enumeration(std::string_view name) {
  using R = detail::ClassOf<M>;
  return {{name, false, std::span<const std::string_view>(Names).subspan(1), Known::kAnything},
          [](const R& r) -> std::string_view {
            const auto i = static_cast<std::size_t>(r.*M);
            return i < std::size(Names) ? Names[i] : std::string_view();
          },
          nullptr};
}

/// A numeric member.
template <auto M>
constexpr FieldOf<detail::ClassOf<M>> number(std::string_view name) {
  using R = detail::ClassOf<M>;
  return {{name, true, {}, Known::kAnything}, nullptr, [](const R& r) { return static_cast<double>(r.*M); }};
}

/// A TimePoint member, as epoch seconds.
template <auto M>
constexpr FieldOf<detail::ClassOf<M>> seconds(std::string_view name) {
  using R = detail::ClassOf<M>;
  return {{name, true, {}, Known::kAnything}, nullptr,
          [](const R& r) { return static_cast<double>(to_epoch_ms(r.*M)) / 1000.0; }};
}

// ---------------------------------------------------------------- the streams
//
// Each stream: Record (its domain struct, with district, occurred_at and
// received_at), kStream, kName (in views files), kTopic, kFields (district
// first) and id() (the id kept as evidence). Its schema is in proto/ioc/v1/,
// its codec in libs/codec, its traffic in services/sim.

inline constexpr std::string_view kChannelNames[] = {"", "online", "counter"};
inline constexpr std::string_view kStatusNames[] = {"", "submitted", "completed", "overdue"};
inline constexpr std::string_view kServiceLevelNames[] = {"", "partial_online", "full_online"};
inline constexpr std::string_view kTelemetryKindNames[] = {"",         "bts_heartbeat", "water_level",
                                                           "rainfall", "air_quality",   "power"};
static_assert(std::size(kChannelNames) == static_cast<std::size_t>(Channel::kCounter) + 1);
static_assert(std::size(kStatusNames) == static_cast<std::size_t>(TransactionStatus::kOverdue) + 1);
static_assert(std::size(kServiceLevelNames) == static_cast<std::size_t>(ServiceLevel::kFullOnline) + 1);
static_assert(std::size(kTelemetryKindNames) == static_cast<std::size_t>(TelemetryKind::kPower) + 1);

/// Citizen reports, from ioc-intake.
struct Reports {
  using Record = Report;
  static constexpr Stream kStream = Stream::kReports;
  static constexpr std::string_view kName = "reports";
  static constexpr const char* kTopic = topics::kReports;
  static constexpr std::array kFields = {
      text<&Report::district>("district", Known::kDistrict),
      text<&Report::category>("category", Known::kCategory),
      text<&Report::source>("source"),
      text<&Report::id>("id"),
      seconds<&Report::occurred_at>("occurred_at"),
      seconds<&Report::received_at>("received_at"),
  };
  static const std::string& id(const Record& r) { return r.id; }
};

/// Public-service transactions, from the portal (ioc-sim).
struct Transactions {
  using Record = ServiceTransaction;
  static constexpr Stream kStream = Stream::kTransactions;
  static constexpr std::string_view kName = "transactions";
  static constexpr const char* kTopic = topics::kTransactions;
  static constexpr std::array kFields = {
      text<&Record::district>("district", Known::kDistrict),
      text<&Record::id>("id"),
      text<&Record::service_code>("service_code"),
      enumeration<&Record::service_level, kServiceLevelNames>("service_level"),
      enumeration<&Record::channel, kChannelNames>("channel"),
      enumeration<&Record::status, kStatusNames>("status"),
      number<&Record::processing_ms>("processing_ms"),
      seconds<&Record::occurred_at>("occurred_at"),
      seconds<&Record::received_at>("received_at"),
  };
  static const std::string& id(const Record& r) { return r.id; }
};

/// Infrastructure telemetry: BTS heartbeats, water levels, rainfall (ioc-sim).
struct TelemetryStream {
  using Record = Telemetry;
  static constexpr Stream kStream = Stream::kTelemetry;
  static constexpr std::string_view kName = "telemetry";
  static constexpr const char* kTopic = topics::kTelemetry;
  static constexpr std::array kFields = {
      text<&Record::district>("district", Known::kDistrict),
      text<&Record::source_id>("source_id"),
      enumeration<&Record::kind, kTelemetryKindNames>("kind"),
      number<&Record::value>("value"),
      text<&Record::unit>("unit"),
      seconds<&Record::occurred_at>("occurred_at"),
      seconds<&Record::received_at>("received_at"),
  };
  static const std::string& id(const Record& r) { return r.source_id; }
};

/// Air-quality stations: PM2.5, PM10 and the AQI per reading (ioc-sim).
struct AirQuality {
  using Record = AirQualityReading;
  static constexpr Stream kStream = Stream::kAirQuality;
  static constexpr std::string_view kName = "air_quality";
  static constexpr const char* kTopic = topics::kAirQuality;
  static constexpr std::array kFields = {
      text<&Record::district>("district", Known::kDistrict),
      text<&Record::station_id>("station_id"),
      number<&Record::pm25>("pm25"),
      number<&Record::pm10>("pm10"),
      number<&Record::aqi>("aqi"),
      seconds<&Record::occurred_at>("occurred_at"),
      seconds<&Record::received_at>("received_at"),
  };
  static const std::string& id(const Record& r) { return r.station_id; }
};

/// Every input stream, in Stream order.
using InputStreams = std::tuple<Reports, Transactions, TelemetryStream, AirQuality>;
inline constexpr std::size_t kStreams = std::tuple_size_v<InputStreams>;

/// One record of each stream (the aggregator's decode buffers).
template <typename List>
struct RecordsOf;
template <typename... S>
struct RecordsOf<std::tuple<S...>> {
  using type = std::tuple<typename S::Record...>;
};
using Records = typename RecordsOf<InputStreams>::type;

/// Calls f(S{}) with the declaration S of `stream`.
template <std::size_t I = 0, typename F>
constexpr decltype(auto) visit(Stream stream, F&& f) {
  using S = std::tuple_element_t<I, InputStreams>;
  if constexpr (I + 1 == kStreams) {
    return f(S{});
  } else {
    if (static_cast<std::size_t>(stream) == I) return f(S{});
    return visit<I + 1>(stream, std::forward<F>(f));
  }
}

/// Calls f(S{}) for every stream, in order.
template <typename F>
constexpr void for_each_stream(F&& f) {
  std::apply([&](auto... s) { (f(s), ...); }, InputStreams{});
}

// ---------------------------------------------------------------- checks

/// What every stream declaration must have.
template <typename S>
concept InputStream = requires(const typename S::Record& r) {
  { S::kStream } -> std::convertible_to<Stream>;
  { S::kName } -> std::convertible_to<std::string_view>;
  { S::kTopic } -> std::convertible_to<const char*>;
  { S::id(r) } -> std::same_as<const std::string&>;
  { r.district } -> std::convertible_to<const std::string&>;
  { r.occurred_at } -> std::convertible_to<TimePoint>;
  { r.received_at } -> std::convertible_to<TimePoint>;
  S::kFields.size();
};

namespace detail {

template <typename S>
constexpr bool well_formed() {
  const auto& f = S::kFields;
  if (f.empty() || f[0].info.name != "district" || f[0].info.known != Known::kDistrict) return false;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i].info.name.empty()) return false;
#if !defined(__SANITIZE_ADDRESS__)  // GCC's sanitizers make a function pointer's null test non-constant
    if ((f[i].text == nullptr) == (f[i].number == nullptr)) return false;
    if (f[i].info.numeric != (f[i].number != nullptr)) return false;
#endif
    for (std::size_t j = 0; j < i; ++j) {
      if (f[j].info.name == f[i].info.name) return false;
    }
  }
  return f.size() <= 255;
}

template <std::size_t... I>
constexpr bool all_streams(std::index_sequence<I...>) {
  return ((InputStream<std::tuple_element_t<I, InputStreams>> &&
           static_cast<std::size_t>(std::tuple_element_t<I, InputStreams>::kStream) == I &&
           well_formed<std::tuple_element_t<I, InputStreams>>()) &&
          ...);
}

}  // namespace detail

static_assert(detail::all_streams(std::make_index_sequence<kStreams>{}),
              "each stream of InputStreams: declares Record, kStream (its position), kName, kTopic, id() and "
              "kFields (district first, unique names, one accessor each)");
static_assert(static_cast<std::size_t>(Stream::kAirQuality) + 1 == kStreams,
              "every Stream has its declaration in InputStreams");

// ---------------------------------------------------------------- by name

/// A stream's name in views files ("reports").
std::string_view to_string(Stream stream);
/// A stream's input topic ("ioc.reports.v1").
const char* topic_of(Stream stream);
/// A stream's fields, in kFields order.
std::span<const FieldInfo> fields_of(Stream stream);
/// "district", "processing_ms", ...
std::string_view field_name(Stream stream, FieldId field);

}  // namespace ioc::views
