#include "ioc/core/time_format.hpp"

#include <gtest/gtest.h>

namespace ioc {
namespace {

std::int64_t ms(std::string_view s) {
  auto r = parse_rfc3339(s);
  EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? to_epoch_ms(*r) : 0;
}

TEST(TimeFormatTest, ParsesUtcAndOffsets) {
  EXPECT_EQ(ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ms("2024-07-01T08:30:00Z"), 1719822600000);
  EXPECT_EQ(ms("2024-07-01T15:30:00+07:00"), 1719822600000);
  EXPECT_EQ(ms("2024-07-01T08:30:00.250Z"), 1719822600250);
  EXPECT_EQ(ms("2024-07-01T08:30:00.2Z"), 1719822600200);
  EXPECT_EQ(ms("2024-07-01T08:30:00.123456789Z"), 1719822600123);
  EXPECT_EQ(ms("2024-07-01T05:00:00-03:30"), 1719822600000);
  EXPECT_EQ(ms("2024-02-29T00:00:00z"), 1709164800000);
}

TEST(TimeFormatTest, RejectsMalformedWithReason) {
  for (const char* bad : {"", "2024-07-01", "2024-07-01T08:30:00", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                          "2024-07-01T24:00:00Z", "2024-07-01T08:30:00+7:00", "2024-07-01T08:30:00Zjunk",
                          "2024-07-01T08:30:00.Z", "yesterday at noon!!!", "2024/07/01T08:30:00Z"}) {
    auto r = parse_rfc3339(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_FALSE(r.error().message.empty());
    }
  }
}

// Regression: second 60 was accepted at any minute.
TEST(TimeFormatTest, SecondSixtyOnlyAsALeapSecond) {
  for (const char* bad : {"2024-07-01T22:10:60Z", "2016-12-31T23:58:60Z", "2016-11-30T23:59:60Z",
                          "2016-12-31T23:59:60+07:00"}) {
    auto r = parse_rfc3339(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("leap second"), std::string::npos) << r.error().message;
  }
  // The leap second of 2016, in UTC and at +07:00 (06:59:60 local).
  for (const char* leap : {"2016-12-31T23:59:60Z", "2017-01-01T06:59:60+07:00", "2015-06-30T23:59:60.5Z"}) {
    auto r = parse_rfc3339(leap);
    ASSERT_TRUE(r.ok()) << leap << ": " << r.error().message;
  }
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2016-12-31T23:59:60Z")), "2017-01-01T00:00:00.000Z");
}

TEST(TimeFormatTest, FormatsRoundTrip) {
  const auto t = from_epoch_ms(1719822600250);
  EXPECT_EQ(format_rfc3339(t), "2024-07-01T08:30:00.250Z");
  EXPECT_EQ(to_epoch_ms(*parse_rfc3339(format_rfc3339(t))), 1719822600250);
  EXPECT_EQ(format_rfc3339(from_epoch_ms(0)), "1970-01-01T00:00:00.000Z");
}

}  // namespace
}  // namespace ioc
