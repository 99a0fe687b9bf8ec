#include "report_request.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "duplicate_keys.hpp"
#include "ioc/core/time_format.hpp"

namespace ioc::intake {
namespace {

class ReportRequestTest : public ::testing::Test {
 protected:
  Registry registry_{{{"380", "Thành phố Thanh Hóa", "thanh-hoa-city"}, {"381", "Thị xã Bỉm Sơn", "bim-son"}},
                     {{"flood", "Ngập lụt", "naturalDisaster", "flood"}, {"fire", "Cháy nổ", "security", "buildingFire"}}};
  TimePoint now_ = *parse_rfc3339("2024-07-01T08:30:00Z");
  ReportLimits limits_;

  std::variant<Report, Rejection> parse(std::string_view body) { return parse_report(body, registry_, now_, limits_); }

  Rejection reject(std::string_view body) {
    auto r = parse(body);
    EXPECT_TRUE(std::holds_alternative<Rejection>(r)) << body;
    return std::holds_alternative<Rejection>(r) ? std::get<Rejection>(r) : Rejection{};
  }

  static bool has(const Rejection& r, std::string_view field, std::string_view reason_part) {
    for (const auto& e : r.errors) {
      if (e.field == field && e.reason.find(reason_part) != std::string::npos) return true;
    }
    return false;
  }
};

TEST_F(ReportRequestTest, AcceptsAFullReport) {
  auto r = parse(R"({"category":"flood","district":"380","description":"Nước ngập 50cm",
    "location":{"lat":19.8067,"lon":105.7852},"occurred_at":"2024-07-01T15:20:00+07:00",
    "reporter_id":"r-17","media_urls":["https://example.org/a.jpg"]})");
  ASSERT_TRUE(std::holds_alternative<Report>(r)) << to_json(std::get<Rejection>(r));
  const Report& rep = std::get<Report>(r);
  EXPECT_EQ(rep.category, "flood");
  EXPECT_EQ(rep.district, "380");
  EXPECT_EQ(rep.description, "Nước ngập 50cm");
  ASSERT_TRUE(rep.location.has_value());
  EXPECT_DOUBLE_EQ(rep.location->lat, 19.8067);
  EXPECT_EQ(format_rfc3339(rep.occurred_at), "2024-07-01T08:20:00.000Z");
  EXPECT_EQ(rep.reporter_id, "r-17");
  EXPECT_EQ(rep.media_urls.size(), 1u);
}

TEST_F(ReportRequestTest, AcceptsMinimalReportWithIntegerCoordinates) {
  auto r = parse(R"({"category":"fire","district":"381","occurred_at":"2024-07-01T08:00:00Z","location":{"lat":20,"lon":105}})");
  ASSERT_TRUE(std::holds_alternative<Report>(r));
  EXPECT_DOUBLE_EQ(std::get<Report>(r).location->lon, 105.0);
}

TEST_F(ReportRequestTest, MalformedJsonIs400WithPosition) {
  const Rejection r = reject(R"({"category": "flood",)");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.code, "invalid_json");
  EXPECT_NE(r.message.find("at byte"), std::string::npos) << r.message;
  EXPECT_EQ(reject("[1,2]").status, 400u);
  EXPECT_EQ(reject("").status, 400u);
  EXPECT_EQ(reject(R"({"a":1} trailing)").status, 400u);
  EXPECT_EQ(reject("\"just a string\"").message, "request body must be a JSON object, got a string");
}

TEST_F(ReportRequestTest, NamesEveryInvalidField) {
  const Rejection r = reject(R"({"category":"volcano","district":380,"location":{"lat":95.5,"lon":"east","alt":3},
    "occurred_at":"2024-07-01T11:00:00Z","media_urls":["ftp://x/y", 7],"colour":"red"})");
  EXPECT_EQ(r.status, 422u);
  EXPECT_EQ(r.code, "validation_failed");
  EXPECT_TRUE(has(r, "category", "unknown category 'volcano'; allowed: flood, fire"));
  EXPECT_TRUE(has(r, "district", "must be a string, got a number"));
  EXPECT_TRUE(has(r, "location.lat", "between -90 and 90"));
  EXPECT_TRUE(has(r, "location.lon", "must be a number, got a string"));
  EXPECT_TRUE(has(r, "location.alt", "unknown field"));
  EXPECT_TRUE(has(r, "occurred_at", "2h30m") || has(r, "occurred_at", "in the future"));
  EXPECT_TRUE(has(r, "media_urls[0]", "http(s) URL"));
  EXPECT_TRUE(has(r, "media_urls[1]", "must be a string"));
  EXPECT_TRUE(has(r, "colour", "unknown field"));
  EXPECT_EQ(r.errors.size(), 9u) << to_json(r);
  // The JSON body lists them all.
  const auto v = boost::json::parse(to_json(r));
  EXPECT_EQ(v.at("errors").as_array().size(), 9u);
  EXPECT_EQ(v.at("message").as_string(), "9 invalid fields; see errors");
}

// Regression: 6,500 unknown keys in a 57 KB body got an 857 KB answer.
TEST_F(ReportRequestTest, ErrorListIsCapped) {
  std::string body = R"({"category":"flood","district":"380","occurred_at":"2024-07-01T08:00:00Z")";
  for (int i = 0; i < 6500; ++i) body += ",\"k" + std::to_string(i) + "\":1";
  body += ",\"" + std::string(500, 'x') + "\":1}";
  Rejection r = reject(body);
  EXPECT_EQ(r.errors.size(), kMaxListedErrors);
  EXPECT_EQ(r.message, "6501 invalid fields; see errors (the first 20 are listed)");
  EXPECT_LT(to_json(r).size(), body.size() / 10);
  r = reject(R"({"category":"flood","district":"380","occurred_at":"2024-07-01T08:00:00Z",")" + std::string(500, 'y') +
             R"(":1})");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].field, std::string(kMaxEchoBytes, 'y') + "...");
}

// Regression: {"category":"flood","category":"fire",...} was stored as fire.
TEST_F(ReportRequestTest, AKeyGivenTwiceIsRefused) {
  const std::string rest = R"("district":"380","occurred_at":"2024-07-01T08:00:00Z")";
  Rejection r = reject(R"({"category":"flood","category":"fire",)" + rest + "}");
  EXPECT_EQ(r.status, 422u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].field, "category");
  EXPECT_NE(r.errors[0].reason.find("given twice"), std::string::npos);
  // Escapes do not hide a repeat, and nested objects are checked too.
  EXPECT_EQ(reject(R"({"category":"flood","cat\u0065gory":"fire",)" + rest + "}").errors.at(0).field, "category");
  EXPECT_EQ(reject(R"({"category":"flood",)" + rest + R"(,"location":{"lat":19.8,"lat":20.1,"lon":105.7}})")
                .errors.at(0)
                .field,
            "location.lat");
  // The same key in two objects is no repeat.
  EXPECT_FALSE(first_duplicate_key(R"({"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]})"));
  EXPECT_EQ(first_duplicate_key(R"({"c":[{"x":1},{"x":2,"x":3}]})"), "c[1].x");
}

// Regression: an unknown 60 KB category came back whole in the 422.
TEST_F(ReportRequestTest, AnUnknownCodeIsEchoedBounded) {
  const std::string big(60'000, 'z');
  const Rejection r =
      reject(R"({"category":")" + big + R"(","district":")" + big + R"(","occurred_at":"2024-07-01T08:00:00Z"})");
  ASSERT_EQ(r.errors.size(), 2u);
  for (const auto& e : r.errors) {
    EXPECT_NE(e.reason.find("'" + std::string(kMaxEchoBytes, 'z') + "...'"), std::string::npos) << e.field;
    EXPECT_LT(e.reason.size(), 2'000u) << e.field;
  }
}

TEST_F(ReportRequestTest, RequiredFieldsAndTimes) {
  Rejection r = reject("{}");
  EXPECT_TRUE(has(r, "category", "is required"));
  EXPECT_TRUE(has(r, "district", "is required"));
  EXPECT_TRUE(has(r, "occurred_at", "is required"));
  r = reject(R"({"category":"flood","district":"380","occurred_at":"01/07/2024 08:00"})");
  EXPECT_TRUE(has(r, "occurred_at", "RFC 3339"));
  r = reject(R"({"category":"flood","district":"380","occurred_at":"2024-07-01T08:36:00Z"})");
  EXPECT_TRUE(has(r, "occurred_at", "6m in the future; at most 5m"));
  // Regression: far-future times were told in raw milliseconds.
  r = reject(R"({"category":"flood","district":"380","occurred_at":"9999-12-31T23:59:59Z"})");
  EXPECT_TRUE(has(r, "occurred_at", "is about 7975 years in the future; at most 5m")) << to_json(r);
  r = reject(R"({"category":"flood","district":"380","occurred_at":"2024-07-03T10:45:31Z"})");
  EXPECT_TRUE(has(r, "occurred_at", "is 2d2h in the future")) << to_json(r);
  r = reject(R"({"category":"flood","district":"380","occurred_at":"2024-05-01T08:00:00Z"})");
  EXPECT_TRUE(has(r, "occurred_at", "older than 30d"));
  r = reject(R"({"category":"flood","district":"999","occurred_at":"2024-07-01T08:00:00Z"})");
  EXPECT_TRUE(has(r, "district", "unknown district code '999'; allowed: 380, 381"));
  // Within the skew allowance is fine.
  EXPECT_TRUE(std::holds_alternative<Report>(
      parse(R"({"category":"flood","district":"380","occurred_at":"2024-07-01T08:34:59Z"})")));
}

TEST_F(ReportRequestTest, EnforcesSizeLimits) {
  limits_.max_description_chars = 5;
  limits_.max_media_urls = 1;
  // 5 Vietnamese characters are more than 5 bytes but exactly 5 characters.
  EXPECT_TRUE(std::holds_alternative<Report>(
      parse(R"({"category":"flood","district":"380","occurred_at":"2024-07-01T08:00:00Z","description":"Ngập!"})")));
  Rejection r = reject(
      R"({"category":"flood","district":"380","occurred_at":"2024-07-01T08:00:00Z","description":"Ngập lụt",
      "media_urls":["https://a.b/1","https://a.b/2"]})");
  EXPECT_TRUE(has(r, "description", "at most 5 characters"));
  EXPECT_TRUE(has(r, "media_urls", "at most 1 entries"));
}

TEST_F(ReportRequestTest, RejectsInvalidUtf8AndDeepNesting) {
  EXPECT_EQ(reject("{\"category\":\"fl\xff\xfeod\"}").status, 400u);
  EXPECT_EQ(reject(std::string(10000, '[')).status, 400u);
}

}  // namespace
}  // namespace ioc::intake
