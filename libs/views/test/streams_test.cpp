#include "ioc/views/streams.hpp"

#include <gtest/gtest.h>

#include <set>

namespace ioc::views {
namespace {

template <typename S>
std::string_view text(const typename S::Record& r, std::string_view field) {
  for (const auto& f : S::kFields) {
    if (f.info.name == field) return f.text(r);
  }
  ADD_FAILURE() << "no field " << field;
  return {};
}

template <typename S>
double number(const typename S::Record& r, std::string_view field) {
  for (const auto& f : S::kFields) {
    if (f.info.name == field) return f.number(r);
  }
  ADD_FAILURE() << "no field " << field;
  return 0;
}

TEST(StreamsTest, FieldsReadTheirRecords) {
  ServiceTransaction t;
  t.id = "app-1";
  t.district = "380";
  t.channel = Channel::kOnline;
  t.status = TransactionStatus::kOverdue;
  t.processing_ms = 5000;
  t.occurred_at = from_epoch_ms(60'000);
  EXPECT_EQ(text<Transactions>(t, "channel"), "online");
  EXPECT_EQ(text<Transactions>(t, "status"), "overdue");
  EXPECT_EQ(text<Transactions>(t, "service_level"), "");  // unspecified
  EXPECT_EQ(number<Transactions>(t, "processing_ms"), 5000.0);
  EXPECT_EQ(number<Transactions>(t, "occurred_at"), 60.0);
  EXPECT_EQ(Transactions::id(t), "app-1");

  Telemetry m;
  m.source_id = "bts-380-0001";
  m.kind = TelemetryKind::kBtsHeartbeat;
  m.value = 1;
  EXPECT_EQ(text<TelemetryStream>(m, "kind"), "bts_heartbeat");
  EXPECT_EQ(number<TelemetryStream>(m, "value"), 1.0);
  EXPECT_EQ(TelemetryStream::id(m), "bts-380-0001");

  AirQualityReading a;
  a.station_id = "aq-380-1";
  a.district = "380";
  a.pm25 = 35.5;
  a.aqi = 101;
  EXPECT_EQ(text<AirQuality>(a, "station_id"), "aq-380-1");
  EXPECT_EQ(number<AirQuality>(a, "pm25"), 35.5);
  EXPECT_EQ(number<AirQuality>(a, "aqi"), 101.0);
  EXPECT_EQ(AirQuality::id(a), "aq-380-1");
}

TEST(StreamsTest, EveryStreamHasItsNameTopicAndFields) {
  std::set<std::string_view> names;
  std::set<std::string_view> topics;
  for (std::size_t i = 0; i < kStreams; ++i) {
    const auto s = static_cast<Stream>(i);
    names.insert(to_string(s));
    topics.insert(topic_of(s));
    ASSERT_FALSE(fields_of(s).empty());
    EXPECT_EQ(field_name(s, 0), "district");
  }
  EXPECT_EQ(names.size(), kStreams);
  EXPECT_EQ(topics.size(), kStreams);
  EXPECT_EQ(to_string(Stream::kAirQuality), "air_quality");
  EXPECT_STREQ(topic_of(Stream::kAirQuality), "ioc.air-quality.v1");
  EXPECT_EQ(field_name(Stream::kTransactions, 4), "channel");
  const auto channel = fields_of(Stream::kTransactions)[4];
  EXPECT_EQ(std::vector<std::string_view>(channel.values.begin(), channel.values.end()),
            (std::vector<std::string_view>{"online", "counter"}));
}

}  // namespace
}  // namespace ioc::views
