#include "record.hpp"

#include <gtest/gtest.h>

#include "ioc/codec/codec.hpp"

namespace ioc::aggregator {
namespace {

FieldId field(Stream s, std::string_view name) {
  const auto fields = views::fields_of(s);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == name) return static_cast<FieldId>(i);
  }
  ADD_FAILURE() << "no field " << name;
  return 0;
}

TEST(RecordTest, FieldsByStream) {
  Record r;
  const ServiceTransaction t{"app-1",         "380", "1.001", ServiceLevel::kUnspecified, Channel::kOnline,
                             TransactionStatus::kOverdue, from_epoch_ms(60'000), from_epoch_ms(61'000), 5000};
  r.set(t, 62'000);
  const Stream tx = Stream::kTransactions;
  EXPECT_EQ(r.stream(), tx);
  EXPECT_EQ(r.text(field(tx, "channel")), "online");
  EXPECT_EQ(r.text(field(tx, "status")), "overdue");
  EXPECT_EQ(r.number(field(tx, "processing_ms")), 5000.0);
  EXPECT_EQ(r.number(field(tx, "occurred_at")), 60.0);
  EXPECT_EQ(r.time_ms(TimeAttribute::kOccurredAt), 60'000);
  EXPECT_EQ(r.time_ms(TimeAttribute::kReceivedAt), 61'000);
  EXPECT_EQ(r.time_ms(TimeAttribute::kIngest), 62'000);
  EXPECT_EQ(r.id(), "app-1");
  EXPECT_EQ(r.district(), "380");

  Telemetry m;
  m.source_id = "bts-380-0001";
  m.district = "380";
  m.kind = TelemetryKind::kBtsHeartbeat;
  m.value = 1;
  r.set(m);
  const Stream tm = Stream::kTelemetry;
  EXPECT_EQ(r.text(field(tm, "kind")), "bts_heartbeat");
  EXPECT_EQ(r.text(field(tm, "source_id")), "bts-380-0001");
  EXPECT_EQ(r.number(field(tm, "value")), 1.0);
  EXPECT_EQ(r.id(), "bts-380-0001");
}

TEST(RecordTest, DecodesEveryStream) {
  AirQualityReading a;
  a.station_id = "aq-380-1";
  a.district = "380";
  a.pm25 = 48.5;
  a.pm10 = 80;
  a.aqi = 133;
  a.occurred_at = from_epoch_ms(120'000);
  a.received_at = from_epoch_ms(121'000);
  Record r;
  ASSERT_TRUE(r.decode(Stream::kAirQuality, codec::encode(a), 0).ok());
  const Stream aq = Stream::kAirQuality;
  EXPECT_EQ(r.text(field(aq, "station_id")), "aq-380-1");
  EXPECT_EQ(r.number(field(aq, "pm25")), 48.5);
  EXPECT_EQ(r.number(field(aq, "aqi")), 133.0);
  EXPECT_EQ(r.id(), "aq-380-1");
  EXPECT_EQ(r.time_ms(TimeAttribute::kReceivedAt), 121'000);

  Report rep;
  rep.id = "r1";
  rep.district = "380";
  rep.category = "flood";
  rep.occurred_at = from_epoch_ms(1000);
  ASSERT_TRUE(r.decode(Stream::kReports, codec::encode(rep), 0).ok());
  EXPECT_EQ(r.text(field(Stream::kReports, "category")), "flood");
  EXPECT_EQ(r.id(), "r1");
  EXPECT_FALSE(r.decode(Stream::kAirQuality, "\xff\xfe garbage", 0).ok());
}

}  // namespace
}  // namespace ioc::aggregator
