#include "ioc/codec/codec.hpp"

#include <gtest/gtest.h>

#include "ioc/v1/report.pb.h"
#include "ioc/v1/telemetry.pb.h"

namespace ioc::codec {
namespace {

Report sample_report() {
  Report r;
  r.id = "01906e6b-c000-7abc-8def-0123456789ab";
  r.category = "flood";
  r.district = "380";
  r.description = "Nước ngập sâu 50cm trên đường Lê Lợi";
  r.location = GeoPoint{19.8067, 105.7852};
  r.occurred_at = from_epoch_ms(1719822600250);
  r.received_at = from_epoch_ms(1719822601000);
  r.reporter_id = "reporter-17";
  r.media_urls = {"https://example.org/a.jpg"};
  r.source = "open311";
  r.address_id = "A-17";
  r.attributes = {{"WHISPAWN", "123456"}, {"depth.cm", "40"}};
  return r;
}

TEST(CodecTest, ReportRoundTrip) {
  const Report in = sample_report();
  Report out;
  ASSERT_TRUE(decode(encode(in), out).ok());
  EXPECT_EQ(in, out);
  Report no_loc = in;
  no_loc.location.reset();
  no_loc.attributes.clear();
  ASSERT_TRUE(decode(encode(no_loc), out).ok());
  EXPECT_FALSE(out.location.has_value());
  EXPECT_TRUE(out.attributes.empty());  // the reused message keeps nothing of the last one
}

TEST(CodecTest, TimestampsBeforeEpochRoundTrip) {
  Report in = sample_report();
  in.occurred_at = from_epoch_ms(-1500);
  Report out;
  ASSERT_TRUE(decode(encode(in), out).ok());
  EXPECT_EQ(to_epoch_ms(out.occurred_at), -1500);
}

TEST(CodecTest, TransactionAndTelemetryRoundTrip) {
  ServiceTransaction t{"app-1", "395", "1.001234", ServiceLevel::kFullOnline, Channel::kOnline,
                       TransactionStatus::kCompleted, from_epoch_ms(1000), from_epoch_ms(2000), 86'400'000};
  ServiceTransaction t2;
  ASSERT_TRUE(decode(encode(t), t2).ok());
  EXPECT_EQ(t, t2);
  Telemetry m{"bts-380-0042", "380", TelemetryKind::kBtsHeartbeat, 1.0, "", from_epoch_ms(5), from_epoch_ms(6)};
  Telemetry m2;
  ASSERT_TRUE(decode(encode(m), m2).ok());
  EXPECT_EQ(m, m2);
}

TEST(CodecTest, AirQualityRoundTrip) {
  AirQualityReading a{"aq-380-1", "380", 48.5, 81.25, 133, from_epoch_ms(7000), from_epoch_ms(8000)};
  AirQualityReading a2;
  ASSERT_TRUE(decode(encode(a), a2).ok());
  EXPECT_EQ(a, a2);
  AirQualityReading nameless = a;
  nameless.station_id.clear();
  const Status missing = decode(encode(nameless), a2);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "AirQualityReading.station_id is required");
}

TEST(CodecTest, WindowResultRoundTrip) {
  WindowResult w;
  w.view = "reports";
  w.group = {{"district", "380"}, {"category", "flood"}};
  w.window_start = from_epoch_ms(60'000);
  w.window_end = from_epoch_ms(120'000);
  w.revision = 3;
  w.final = true;
  w.count = 42;
  w.values = {{"count", 42}};
  w.sample_ids = {"a", "b"};
  w.watermark = from_epoch_ms(130'000);
  w.input_partition = 7;
  WindowResult out;
  ASSERT_TRUE(decode(encode(w), out).ok());
  EXPECT_EQ(w, out);
}

TEST(CodecTest, AlertEventRoundTrip) {
  AlertEvent a;
  a.fingerprint = "f00d";
  a.id = "f00d-60000";
  a.rule = "flood_surge";
  a.state = AlertEvent::State::kFiring;
  a.severity = "critical";
  a.view = "reports_15m";
  a.group = {{"district", "380"}, {"category", "flood"}};
  a.window_start = from_epoch_ms(0);
  a.window_end = from_epoch_ms(900'000);
  a.value = 25;
  a.threshold = 20;
  a.comparator = ">=";
  a.sample_ids = {"r1"};
  a.category = "naturalDisaster";
  a.sub_category = "flood";
  a.summary = "25 flood reports in 15 min in 380";
  a.scenario = "Call the district's steering committee.";
  a.labels = {{"alertname", "flood_surge"}, {"district", "380"}};
  a.annotations = {{"summary", "25 flood reports"}};
  a.starts_at = from_epoch_ms(60'000);
  a.sent_at = from_epoch_ms(61'000);
  a.revision = 2;
  AlertEvent out;
  ASSERT_TRUE(decode(encode(a), out).ok());
  EXPECT_EQ(a, out);

  a.state = AlertEvent::State::kResolved;
  a.ends_at = from_epoch_ms(120'000);
  ASSERT_TRUE(decode(encode(a), out).ok());
  EXPECT_EQ(a, out);

  a.state = AlertEvent::State::kInactive;  // a pending alert that never fired
  ASSERT_TRUE(decode(encode(a), out).ok());
  EXPECT_EQ(a, out);

  a.rule.clear();
  EXPECT_FALSE(decode(encode(a), out).ok());
}

TEST(CodecTest, GarbageAndMissingFieldsAreErrors) {
  Report out;
  const Status garbage = decode("\xff\xff\xff\xff not protobuf", out);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(garbage.error().message.find("ioc.v1.Report"), std::string::npos);

  Report r = sample_report();
  r.district.clear();
  const Status no_district = decode(encode(r), out);
  ASSERT_FALSE(no_district.ok());
  EXPECT_EQ(no_district.error().message, "Report.district is required");

  v1::Report no_time;
  no_time.set_id("x");
  no_time.set_district("380");
  no_time.set_category("flood");
  const Status s = decode(no_time.SerializeAsString(), out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "Report.occurred_at is required");
}

TEST(CodecTest, ADecodedRecordKeepsNothingOfThePreviousOne) {
  // The decoders reuse one message and its Timestamps across records.
  Report out;
  ASSERT_TRUE(decode(encode(sample_report()), out).ok());
  v1::Report bare;
  bare.set_id("y");
  bare.set_district("381");
  bare.set_category("fire");
  bare.mutable_occurred_at()->set_seconds(0);  // present, at the epoch
  ASSERT_TRUE(decode(bare.SerializeAsString(), out).ok());
  EXPECT_EQ(to_epoch_ms(out.occurred_at), 0);
  EXPECT_EQ(to_epoch_ms(out.received_at), 0);  // absent
  EXPECT_FALSE(out.location.has_value());
  EXPECT_TRUE(out.media_urls.empty());
  EXPECT_EQ(out.description, "");

  Telemetry tm{"s1", "380", TelemetryKind::kRainfall, 2.5, "mm", from_epoch_ms(5000), from_epoch_ms(6000)};
  Telemetry tm_out;
  ASSERT_TRUE(decode(encode(tm), tm_out).ok());
  EXPECT_EQ(tm_out, tm);
  ServiceTransaction tx{"a", "380", "s", ServiceLevel::kFullOnline, Channel::kOnline, TransactionStatus::kSubmitted,
                        from_epoch_ms(1000), from_epoch_ms(2000), 5};
  ServiceTransaction tx_out;
  ASSERT_TRUE(decode(encode(tx), tx_out).ok());
  EXPECT_EQ(tx_out, tx);
  tx.occurred_at = from_epoch_ms(0);  // encoded as an empty, present Timestamp
  ASSERT_TRUE(decode(encode(tx), tx_out).ok());
  EXPECT_EQ(to_epoch_ms(tx_out.occurred_at), 0);
  v1::Telemetry no_time;
  no_time.set_source_id("s1");
  no_time.set_district("380");
  const Status missing = decode(no_time.SerializeAsString(), tm_out);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "Telemetry.occurred_at is required");
}

TEST(CodecTest, UnknownEnumValuesMapToUnspecified) {
  ServiceTransaction t{"a", "380", "s", ServiceLevel::kFullOnline, Channel::kOnline, TransactionStatus::kSubmitted,
                       from_epoch_ms(1), {}, 0};
  std::string bytes = encode(t);
  // Field 5 (channel), varint 9: a value from a future schema.
  bytes += std::string("\x28\x09", 2);
  ServiceTransaction out;
  ASSERT_TRUE(decode(bytes, out).ok());
  EXPECT_EQ(out.channel, Channel::kUnspecified);
}

}  // namespace
}  // namespace ioc::codec
