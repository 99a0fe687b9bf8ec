#include "ioc/codec/codec.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/wire_format_lite.h>
#include <tuple>
#include <utility>

#include "ioc/v1/air_quality.pb.h"
#include "ioc/v1/report.pb.h"
#include "ioc/v1/telemetry.pb.h"
#include "ioc/v1/transaction.pb.h"
#include "ioc/v1/alert_event.pb.h"
#include "ioc/v1/window_result.pb.h"

namespace ioc::codec {
namespace {

namespace pb = google::protobuf;

bool has(std::uint64_t present, int field) { return (present >> field) & 1U; }

void to_proto(TimePoint t, google::protobuf::Timestamp* ts) {
  const std::int64_t ms = to_epoch_ms(t);
  std::int64_t secs = ms / 1000;
  std::int64_t rem = ms % 1000;
  if (rem < 0) {  // Timestamp nanos must be non-negative
    rem += 1000;
    secs -= 1;
  }
  ts->set_seconds(secs);
  ts->set_nanos(static_cast<std::int32_t>(rem * 1'000'000));
}

TimePoint from_proto(const google::protobuf::Timestamp& ts) {
  return from_epoch_ms(ts.seconds() * 1000 + ts.nanos() / 1'000'000);
}

template <typename Msg>
Msg& scratch() {
  thread_local Msg msg;
  msg.Clear();
  return msg;
}

template <typename Msg>
Status parse(std::string_view bytes, Msg& msg) {
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return data_loss("not a valid " + Msg::descriptor()->full_name() + " (" + std::to_string(bytes.size()) + " bytes)");
  }
  return {};
}

/// Bit n set: top-level field n (< 64) occurs in the encoded message. How
/// presence of a sub-message field is known when the message it is parsed
/// into keeps its sub-messages (see Reused).
std::uint64_t fields_present(std::string_view bytes) {
  namespace pb = google::protobuf;
  pb::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  std::uint64_t present = 0;
  while (const std::uint32_t tag = in.ReadTag()) {
    const int field = pb::internal::WireFormatLite::GetTagFieldNumber(tag);
    if (field < 64) present |= std::uint64_t{1} << field;
    if (!pb::internal::WireFormatLite::SkipField(&in, tag)) break;
  }
  return present;
}

/// A message reused for decoding on the hot path (input records), with its
/// sub-messages kept allocated: Clear() and ParseFrom*() delete them, and
/// parsing allocates them again, two Timestamps per record. parse() clears
/// the message while keeping them (cleared), merges the bytes into it, and
/// tells which fields the bytes had. One per thread and message type.
template <typename Msg, typename... Sub>
class Reused {
 public:
  using Release = std::tuple<Sub* (Msg::*)()...>;
  using Set = std::tuple<void (Msg::*)(Sub*)...>;
  Reused(Release release, Set set) : release_(release), set_(set) {}

  /// The message, or an error when `bytes` are not one; `*present` gets
  /// fields_present(bytes).
  Result<const Msg*> parse(std::string_view bytes, std::uint64_t* present) {
    std::tuple<Sub*...> kept;
    keep(kept, std::index_sequence_for<Sub...>{});
    msg_.Clear();  // nothing left to delete
    put_back(kept, std::index_sequence_for<Sub...>{});
    // ParseFromArray() without its Clear(): the same fast parser, merging.
    if (!msg_.template ParseFrom<google::protobuf::MessageLite::kMerge>(
            google::protobuf::StringPiece(bytes.data(), bytes.size()))) {
      return data_loss("not a valid " + Msg::descriptor()->full_name() + " (" + std::to_string(bytes.size()) +
                       " bytes)");
    }
    *present = fields_present(bytes);
    return &msg_;
  }

 private:
  template <std::size_t... I>
  void keep(std::tuple<Sub*...>& kept, std::index_sequence<I...>) {
    ((std::get<I>(kept) = (msg_.*std::get<I>(release_))()), ...);
  }
  template <std::size_t... I>
  void put_back(std::tuple<Sub*...>& kept, std::index_sequence<I...>) {
    ((std::get<I>(kept) != nullptr ? std::get<I>(kept)->Clear() : void(std::get<I>(kept) = new Sub())), ...);
    ((msg_.*std::get<I>(set_))(std::get<I>(kept)), ...);
  }

  Msg msg_;
  Release release_;
  Set set_;
};

Error missing(const char* message, const char* field) {
  return invalid_argument(std::string(message) + "." + field + " is required");
}

// Protobuf enums and domain enums share their numbering (0 = unspecified);
// values from a newer schema that this build does not know map to unspecified.
// `kLast` is the domain's last value: a schema that grew fails to compile
// here until the domain enum (and its names in ioc/views/streams.hpp) grow too.
template <auto kLast, int kProtoMax>
decltype(kLast) enum_from(int v) {
  static_assert(static_cast<int>(kLast) == kProtoMax, "the domain enum and the protobuf enum differ");
  return (v >= 0 && v <= kProtoMax) ? static_cast<decltype(kLast)>(v) : decltype(kLast){};
}

}  // namespace

// ---------------------------------------------------------------- Report

void encode(const Report& in, std::string& out) {
  auto& m = scratch<v1::Report>();
  m.set_id(in.id);
  m.set_category(in.category);
  m.set_district(in.district);
  m.set_description(in.description);
  if (in.location) {
    m.mutable_location()->set_lat(in.location->lat);
    m.mutable_location()->set_lon(in.location->lon);
  }
  to_proto(in.occurred_at, m.mutable_occurred_at());
  to_proto(in.received_at, m.mutable_received_at());
  m.set_reporter_id(in.reporter_id);
  for (const auto& u : in.media_urls) m.add_media_urls(u);
  m.set_source(in.source);
  m.set_address(in.address);
  m.set_client(in.client);
  m.set_idempotency_key(in.idempotency_key);
  m.set_content_hash(in.content_hash);
  m.set_address_id(in.address_id);
  for (const auto& [code, value] : in.attributes) {
    auto* a = m.add_attributes();
    a->set_code(code);
    a->set_value(value);
  }
  m.SerializeToString(&out);
}

/// The reused message of a record with occurred_at and received_at.
template <typename M>
Reused<M, pb::Timestamp, pb::Timestamp>& with_times() {
  thread_local Reused<M, pb::Timestamp, pb::Timestamp> reused(
      {&M::unsafe_arena_release_occurred_at, &M::unsafe_arena_release_received_at},
      {&M::unsafe_arena_set_allocated_occurred_at, &M::unsafe_arena_set_allocated_received_at});
  return reused;
}

Status decode(std::string_view bytes, Report& out) {
  using pb::Timestamp;
  thread_local Reused<v1::Report, v1::GeoPoint, Timestamp, Timestamp> reused(
      {&v1::Report::unsafe_arena_release_location, &v1::Report::unsafe_arena_release_occurred_at,
       &v1::Report::unsafe_arena_release_received_at},
      {&v1::Report::unsafe_arena_set_allocated_location, &v1::Report::unsafe_arena_set_allocated_occurred_at,
       &v1::Report::unsafe_arena_set_allocated_received_at});
  std::uint64_t present = 0;
  auto parsed = reused.parse(bytes, &present);
  if (!parsed.ok()) return parsed.error();
  const v1::Report& m = **parsed;
  if (m.id().empty()) return missing("Report", "id");
  if (m.district().empty()) return missing("Report", "district");
  if (m.category().empty()) return missing("Report", "category");
  if (!has(present, v1::Report::kOccurredAtFieldNumber)) return missing("Report", "occurred_at");
  out.id = m.id();
  out.category = m.category();
  out.district = m.district();
  out.description = m.description();
  out.location.reset();
  if (has(present, v1::Report::kLocationFieldNumber)) out.location = GeoPoint{m.location().lat(), m.location().lon()};
  out.occurred_at = from_proto(m.occurred_at());
  out.received_at = from_proto(m.received_at());
  out.reporter_id = m.reporter_id();
  out.media_urls.assign(m.media_urls().begin(), m.media_urls().end());
  out.source = m.source();
  out.address = m.address();
  out.client = m.client();
  out.idempotency_key = m.idempotency_key();
  out.content_hash = m.content_hash();
  out.address_id = m.address_id();
  out.attributes.clear();
  for (const auto& a : m.attributes()) out.attributes.emplace_back(a.code(), a.value());
  return {};
}

// ---------------------------------------------------------------- ReportStatus

void encode(const ReportStatus& in, std::string& out) {
  auto& m = scratch<v1::ReportStatus>();
  m.set_report_id(in.report_id);
  m.set_status(in.status);
  m.set_note(in.note);
  m.set_operator_id(in.operator_id);
  to_proto(in.updated_at, m.mutable_updated_at());
  m.set_agency(in.agency);
  m.SerializeToString(&out);
}

Status decode(std::string_view bytes, ReportStatus& out) {
  auto& m = scratch<v1::ReportStatus>();
  if (Status s = parse(bytes, m); !s.ok()) return s;
  if (m.report_id().empty()) return missing("ReportStatus", "report_id");
  if (m.status().empty()) return missing("ReportStatus", "status");
  if (!m.has_updated_at()) return missing("ReportStatus", "updated_at");
  out.report_id = m.report_id();
  out.status = m.status();
  out.note = m.note();
  out.operator_id = m.operator_id();
  out.updated_at = from_proto(m.updated_at());
  out.agency = m.agency();
  return {};
}

// ---------------------------------------------------------------- ServiceTransaction

void encode(const ServiceTransaction& in, std::string& out) {
  auto& m = scratch<v1::ServiceTransaction>();
  m.set_id(in.id);
  m.set_district(in.district);
  m.set_service_code(in.service_code);
  m.set_service_level(static_cast<v1::ServiceTransaction::ServiceLevel>(in.service_level));
  m.set_channel(static_cast<v1::ServiceTransaction::Channel>(in.channel));
  m.set_status(static_cast<v1::ServiceTransaction::Status>(in.status));
  to_proto(in.occurred_at, m.mutable_occurred_at());
  to_proto(in.received_at, m.mutable_received_at());
  m.set_processing_ms(in.processing_ms);
  m.SerializeToString(&out);
}

Status decode(std::string_view bytes, ServiceTransaction& out) {
  using M = v1::ServiceTransaction;
  std::uint64_t present = 0;
  auto parsed = with_times<M>().parse(bytes, &present);
  if (!parsed.ok()) return parsed.error();
  const M& m = **parsed;
  if (m.id().empty()) return missing("ServiceTransaction", "id");
  if (m.district().empty()) return missing("ServiceTransaction", "district");
  if (!has(present, M::kOccurredAtFieldNumber)) return missing("ServiceTransaction", "occurred_at");
  out.id = m.id();
  out.district = m.district();
  out.service_code = m.service_code();
  out.service_level = enum_from<ServiceLevel::kFullOnline, M::ServiceLevel_MAX>(m.service_level());
  out.channel = enum_from<Channel::kCounter, M::Channel_MAX>(m.channel());
  out.status = enum_from<TransactionStatus::kOverdue, M::Status_MAX>(m.status());
  out.occurred_at = from_proto(m.occurred_at());
  out.received_at = from_proto(m.received_at());
  out.processing_ms = m.processing_ms();
  return {};
}

// ---------------------------------------------------------------- Telemetry

void encode(const Telemetry& in, std::string& out) {
  auto& m = scratch<v1::Telemetry>();
  m.set_source_id(in.source_id);
  m.set_district(in.district);
  m.set_kind(static_cast<v1::Telemetry::Kind>(in.kind));
  m.set_value(in.value);
  m.set_unit(in.unit);
  to_proto(in.occurred_at, m.mutable_occurred_at());
  to_proto(in.received_at, m.mutable_received_at());
  m.SerializeToString(&out);
}

Status decode(std::string_view bytes, Telemetry& out) {
  using M = v1::Telemetry;
  std::uint64_t present = 0;
  auto parsed = with_times<M>().parse(bytes, &present);
  if (!parsed.ok()) return parsed.error();
  const M& m = **parsed;
  if (m.source_id().empty()) return missing("Telemetry", "source_id");
  if (m.district().empty()) return missing("Telemetry", "district");
  if (!has(present, M::kOccurredAtFieldNumber)) return missing("Telemetry", "occurred_at");
  out.source_id = m.source_id();
  out.district = m.district();
  out.kind = enum_from<TelemetryKind::kPower, M::Kind_MAX>(m.kind());
  out.value = m.value();
  out.unit = m.unit();
  out.occurred_at = from_proto(m.occurred_at());
  out.received_at = from_proto(m.received_at());
  return {};
}

// ---------------------------------------------------------------- AirQualityReading

void encode(const AirQualityReading& in, std::string& out) {
  auto& m = scratch<v1::AirQualityReading>();
  m.set_station_id(in.station_id);
  m.set_district(in.district);
  m.set_pm25(in.pm25);
  m.set_pm10(in.pm10);
  m.set_aqi(in.aqi);
  to_proto(in.occurred_at, m.mutable_occurred_at());
  to_proto(in.received_at, m.mutable_received_at());
  m.SerializeToString(&out);
}

Status decode(std::string_view bytes, AirQualityReading& out) {
  using M = v1::AirQualityReading;
  std::uint64_t present = 0;
  auto parsed = with_times<M>().parse(bytes, &present);
  if (!parsed.ok()) return parsed.error();
  const M& m = **parsed;
  if (m.station_id().empty()) return missing("AirQualityReading", "station_id");
  if (m.district().empty()) return missing("AirQualityReading", "district");
  if (!has(present, M::kOccurredAtFieldNumber)) return missing("AirQualityReading", "occurred_at");
  out.station_id = m.station_id();
  out.district = m.district();
  out.pm25 = m.pm25();
  out.pm10 = m.pm10();
  out.aqi = m.aqi();
  out.occurred_at = from_proto(m.occurred_at());
  out.received_at = from_proto(m.received_at());
  return {};
}

// ---------------------------------------------------------------- WindowResult

void encode(const WindowResult& in, std::string& out) {
  auto& m = scratch<v1::WindowResult>();
  m.set_view(in.view);
  for (const Label& l : in.group) {
    auto* g = m.add_group();
    g->set_name(l.name);
    g->set_value(l.value);
  }
  to_proto(in.window_start, m.mutable_window_start());
  to_proto(in.window_end, m.mutable_window_end());
  m.set_revision(in.revision);
  m.set_final(in.final);
  m.set_count(in.count);
  for (const auto& v : in.values) {
    auto* pv = m.add_values();
    pv->set_name(v.name);
    pv->set_value(v.value);
  }
  for (const auto& id : in.sample_ids) m.add_sample_ids(id);
  to_proto(in.watermark, m.mutable_watermark());
  m.set_input_partition(in.input_partition);
  m.SerializeToString(&out);
}

Status decode(std::string_view bytes, WindowResult& out) {
  auto& m = scratch<v1::WindowResult>();
  if (Status s = parse(bytes, m); !s.ok()) return s;
  if (m.view().empty()) return missing("WindowResult", "view");
  if (!m.has_window_start()) return missing("WindowResult", "window_start");
  out.view = m.view();
  out.group.clear();
  for (const auto& g : m.group()) out.group.push_back({g.name(), g.value()});
  out.window_start = from_proto(m.window_start());
  out.window_end = from_proto(m.window_end());
  out.revision = m.revision();
  out.final = m.final();
  out.count = m.count();
  out.values.clear();
  for (const auto& v : m.values()) out.values.push_back({v.name(), v.value()});
  out.sample_ids.assign(m.sample_ids().begin(), m.sample_ids().end());
  out.watermark = from_proto(m.watermark());
  out.input_partition = m.input_partition();
  return {};
}

// ---------------------------------------------------------------- AlertEvent

namespace {

template <typename Repeated>
void labels_to_proto(const std::vector<Label>& in, Repeated* out) {
  for (const Label& l : in) {
    auto* g = out->Add();
    g->set_name(l.name);
    g->set_value(l.value);
  }
}

template <typename Repeated>
std::vector<Label> labels_from_proto(const Repeated& in) {
  std::vector<Label> out;
  out.reserve(static_cast<std::size_t>(in.size()));
  for (const auto& g : in) out.push_back({g.name(), g.value()});
  return out;
}

}  // namespace

void encode(const AlertEvent& in, std::string& out) {
  auto& m = scratch<v1::AlertEvent>();
  m.set_fingerprint(in.fingerprint);
  m.set_id(in.id);
  m.set_rule(in.rule);
  m.set_state(static_cast<v1::AlertEvent::State>(in.state));
  m.set_severity(in.severity);
  m.set_view(in.view);
  labels_to_proto(in.group, m.mutable_group());
  to_proto(in.window_start, m.mutable_window_start());
  to_proto(in.window_end, m.mutable_window_end());
  m.set_value(in.value);
  m.set_threshold(in.threshold);
  m.set_comparator(in.comparator);
  for (const auto& id : in.sample_ids) m.add_sample_ids(id);
  m.set_category(in.category);
  m.set_sub_category(in.sub_category);
  m.set_description(in.description);
  m.set_summary(in.summary);
  m.set_scenario(in.scenario);
  labels_to_proto(in.labels, m.mutable_labels());
  labels_to_proto(in.annotations, m.mutable_annotations());
  to_proto(in.starts_at, m.mutable_starts_at());
  if (in.ends_at != TimePoint{}) to_proto(in.ends_at, m.mutable_ends_at());
  to_proto(in.sent_at, m.mutable_sent_at());
  m.set_revision(in.revision);
  m.SerializeToString(&out);
}

Status decode(std::string_view bytes, AlertEvent& out) {
  auto& m = scratch<v1::AlertEvent>();
  if (Status s = parse(bytes, m); !s.ok()) return s;
  if (m.fingerprint().empty()) return missing("AlertEvent", "fingerprint");
  if (m.rule().empty()) return missing("AlertEvent", "rule");
  if (m.state() == v1::AlertEvent::STATE_UNSPECIFIED || !v1::AlertEvent::State_IsValid(m.state())) {
    return missing("AlertEvent", "state");
  }
  if (!m.has_starts_at()) return missing("AlertEvent", "starts_at");
  out.fingerprint = m.fingerprint();
  out.id = m.id();
  out.rule = m.rule();
  out.state = static_cast<AlertEvent::State>(m.state());
  out.severity = m.severity();
  out.view = m.view();
  out.group = labels_from_proto(m.group());
  out.window_start = from_proto(m.window_start());
  out.window_end = from_proto(m.window_end());
  out.value = m.value();
  out.threshold = m.threshold();
  out.comparator = m.comparator();
  out.sample_ids.assign(m.sample_ids().begin(), m.sample_ids().end());
  out.category = m.category();
  out.sub_category = m.sub_category();
  out.description = m.description();
  out.summary = m.summary();
  out.scenario = m.scenario();
  out.labels = labels_from_proto(m.labels());
  out.annotations = labels_from_proto(m.annotations());
  out.starts_at = from_proto(m.starts_at());
  out.ends_at = m.has_ends_at() ? from_proto(m.ends_at()) : TimePoint{};
  out.sent_at = from_proto(m.sent_at());
  out.revision = m.revision();
  return {};
}

}  // namespace ioc::codec
