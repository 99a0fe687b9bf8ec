#include "api.hpp"

#include <gtest/gtest.h>

#include "ioc/core/time_format.hpp"

namespace ioc::alerter {
namespace {

std::string bound(std::string_view text, bool end_of_day = false) {
  auto t = parse_time_bound(text, end_of_day);
  return t.ok() ? format_rfc3339(*t) : "error: " + t.error().message;
}

TEST(ApiTest, EpisodeBoundsAreDaysOrRfc3339Times) {
  EXPECT_EQ(bound("2024-07-01"), "2024-07-01T00:00:00.000Z");
  EXPECT_EQ(bound("2024-07-01", true), "2024-07-02T00:00:00.000Z");  // `to` takes the whole day
  EXPECT_EQ(bound("2024-07-01T08:00:00+07:00"), "2024-07-01T01:00:00.000Z");
  EXPECT_EQ(bound("2024-02-30"), "error: '2024-02-30' is not a date YYYY-MM-DD: no such calendar date");
  EXPECT_EQ(bound("yesterday").rfind("error: 'yesterday' is neither YYYY-MM-DD nor RFC 3339", 0), 0u);
  EXPECT_EQ(bound("2024-07-01T08:00:00").rfind("error: ", 0), 0u);  // no offset: ambiguous
}

TEST(ApiTest, AnEpisodeListsItsCapMessages) {
  EpisodeRecord r;
  r.id = "fp-1";
  r.rule = "WaterLevelHigh";
  r.started = from_epoch_ms(1'719'822'600'000);
  r.ended = r.started + std::chrono::minutes(90);
  r.cap_messages = {1, 2};
  const auto o = episode_json(r);
  EXPECT_EQ(o.at("duration_seconds").as_int64(), 5400);
  EXPECT_EQ(o.at("ended").as_string(), "2024-07-01T10:00:00.000Z");
  EXPECT_EQ(o.at("cap_messages").as_array().at(1).as_string(), "/api/v1/alerts/fp-1/cap/2");
}

}  // namespace
}  // namespace ioc::alerter
