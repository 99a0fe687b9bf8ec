// Open311 GeoReport v2 against the spec's field lists
// (http://wiki.open311.org/GeoReport_v2).
#include "open311.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "ioc/core/time_format.hpp"

namespace ioc::intake::open311 {
namespace {

namespace json = boost::json;

const Registry& registry() {
  static const Registry kRegistry({{"380", "Thành phố Thanh Hóa", "thanh-hoa-city"}, {"381", "Thị xã Bỉm Sơn", "bim-son"}},
                          {{"flood", "Ngập lụt", "naturalDisaster", "flood", "Flooded streets"},
                           {"other", "Khác", "", "", ""}});
  return kRegistry;
}

const TimePoint kNow = from_epoch_ms(1719822600000);  // 2024-07-01T08:30:00Z

std::vector<std::string> keys(const json::object& o) {
  std::vector<std::string> out;
  for (const auto& kv : o) out.emplace_back(kv.key());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(Open311Test, ServiceListHasTheSpecFieldsForEveryCategory) {
  const json::array a = json::parse(services_json(registry())).as_array();
  ASSERT_EQ(a.size(), 2u);
  for (const auto& s : a) {
    EXPECT_EQ(keys(s.as_object()), sorted({"service_code", "service_name", "description", "metadata", "type",
                                           "keywords", "group"}));
    EXPECT_EQ(s.at("type").as_string(), "realtime");  // one of realtime, batch, blackbox
    EXPECT_TRUE(s.at("metadata").as_bool());          // every service has a definition
  }
  EXPECT_EQ(a[0].at("service_code").as_string(), "flood");
  EXPECT_EQ(a[0].at("description").as_string(), "Flooded streets");
  EXPECT_EQ(a[1].at("description").as_string(), "Khác");  // falls back to the name
}

TEST(Open311Test, ServiceDefinitionListsTheDistrictAttribute) {
  EXPECT_FALSE(service_definition_json(registry(), "nope"));
  const json::value d = json::parse(*service_definition_json(registry(), "flood"));
  EXPECT_EQ(d.at("service_code").as_string(), "flood");
  const json::array& attrs = d.at("attributes").as_array();
  ASSERT_EQ(attrs.size(), 2u);
  for (const auto& a : attrs) {
    for (const char* f : {"variable", "code", "datatype", "required", "datatype_description", "order", "description"}) {
      EXPECT_TRUE(a.as_object().contains(f)) << f;
    }
  }
  EXPECT_EQ(attrs[0].at("code").as_string(), "district");
  EXPECT_EQ(attrs[0].at("datatype").as_string(), "singlevaluelist");
  EXPECT_TRUE(attrs[0].at("required").as_bool());
  EXPECT_EQ(attrs[0].at("values").at(1).at("key").as_string(), "381");
  EXPECT_EQ(attrs[1].at("datatype").as_string(), "datetime");
}

TEST(Open311Test, AFormRequestBecomesAReport) {
  const Params p = {{"api_key", "k"},           {"jurisdiction_id", "38"},
                    {"service_code", "flood"},  {"lat", "19.8067"},
                    {"long", "105.7852"},       {"address_string", "12 Lê Lợi"},
                    {"email", "a@b.vn"},        {"device_id", "dev-1"},
                    {"account_id", "acct-9"},   {"first_name", "An"},
                    {"last_name", "Nguyễn"},    {"phone", "0900"},
                    {"description", "ngập 50cm"}, {"media_url", "https://example.org/a.jpg"},
                    {"attribute[district]", "380"}};
  auto r = parse_request(p, registry(), kNow, {});
  ASSERT_TRUE(std::holds_alternative<Report>(r)) << to_json(std::get<Rejected>(r).errors);
  const Report& rep = std::get<Report>(r);
  EXPECT_EQ(rep.category, "flood");
  EXPECT_EQ(rep.district, "380");
  ASSERT_TRUE(rep.location);
  EXPECT_DOUBLE_EQ(rep.location->lon, 105.7852);
  EXPECT_EQ(rep.address, "12 Lê Lợi");
  EXPECT_EQ(rep.reporter_id, "acct-9");
  EXPECT_EQ(rep.description, "ngập 50cm");
  EXPECT_EQ(rep.media_urls, std::vector<std::string>{"https://example.org/a.jpg"});
  EXPECT_EQ(rep.occurred_at, kNow);  // no occurred_at attribute: now
}

TEST(Open311Test, AJsonBodyWithAnAttributeObjectWorksToo) {
  auto p = params_from_json(R"({"service_code":"flood","lat":19.8,"long":105.7,)"
                            R"("attribute":{"district":"381","occurred_at":"2024-07-01T08:00:00Z"}})");
  ASSERT_TRUE(std::holds_alternative<Params>(p));
  auto r = parse_request(std::get<Params>(p), registry(), kNow, {});
  ASSERT_TRUE(std::holds_alternative<Report>(r)) << to_json(std::get<Rejected>(r).errors);
  EXPECT_EQ(std::get<Report>(r).district, "381");
  EXPECT_EQ(format_rfc3339(std::get<Report>(r).occurred_at), "2024-07-01T08:00:00.000Z");
  EXPECT_TRUE(std::holds_alternative<Rejected>(params_from_json("[1]")));
  EXPECT_TRUE(std::holds_alternative<Rejected>(params_from_json(R"({"lat":[1]})")));
  // Regression: a repeated key was last-wins.
  const auto twice = params_from_json(R"({"service_code":"flood","service_code":"fire"})");
  ASSERT_TRUE(std::holds_alternative<Rejected>(twice));
  EXPECT_EQ(std::get<Rejected>(twice).status, 400u);
}

TEST(Open311Test, ErrorsNameTheOpen311ParameterInTheSpecFormat) {
  auto r = parse_request({{"service_code", "flood"}, {"lat", "north"}, {"long", "105"}}, registry(), kNow, {});
  ASSERT_TRUE(std::holds_alternative<Rejected>(r));
  const Rejected& rej = std::get<Rejected>(r);
  EXPECT_EQ(rej.status, 400u);
  const json::array a = json::parse(to_json(rej.errors)).as_array();
  std::vector<std::string> text;
  for (const auto& e : a) {
    EXPECT_EQ(keys(e.as_object()), sorted({"code", "description"}));
    EXPECT_EQ(e.at("code").as_int64(), 400);
    text.emplace_back(e.at("description").as_string());
  }
  auto has = [&](std::string_view prefix) {
    return std::any_of(text.begin(), text.end(), [&](const std::string& t) { return t.starts_with(prefix); });
  };
  EXPECT_TRUE(has("lat: must be a decimal number")) << json::serialize(a);
  EXPECT_TRUE(has("attribute[district]: is required")) << json::serialize(a);
}

// Regressions (GeoReport v2 deviations): an unknown service_code was 400
// (spec: 404); empty optional parameters were refused (the spec reads them
// as absent); keywords were a JSON array (spec: a comma-separated string);
// a start_date-end_date span over 90 days was accepted.
TEST(Open311Test, SpecAnswersForUnknownServicesEmptyParametersKeywordsAndSpans) {
  auto r = parse_request({{"service_code", "volcano"}, {"attribute[district]", "380"}, {"lat", "19.8"},
                          {"long", "105.7"}},
                         registry(), kNow, {});
  ASSERT_TRUE(std::holds_alternative<Rejected>(r));
  EXPECT_EQ(std::get<Rejected>(r).status, 404u);
  EXPECT_EQ(json::parse(to_json(std::get<Rejected>(r).errors)).at(0).at("code").as_int64(), 404);

  r = parse_request({{"service_code", "flood"}, {"attribute[district]", "380"}, {"address_string", "12 Le Loi"},
                     {"lat", ""}, {"long", ""}, {"description", ""}, {"media_url", ""}, {"device_id", ""}},
                    registry(), kNow, {});
  ASSERT_TRUE(std::holds_alternative<Report>(r)) << to_json(std::get<Rejected>(r).errors);
  EXPECT_FALSE(std::get<Report>(r).location);

  const json::value services = json::parse(services_json(registry()));
  for (const auto& s : services.as_array()) EXPECT_TRUE(s.at("keywords").is_string()) << json::serialize(s);

  auto q = parse_query({{"start_date", "2024-01-01T00:00:00Z"}, {"end_date", "2024-04-01T00:00:01Z"}}, registry(),
                       kNow);
  ASSERT_TRUE(std::holds_alternative<Rejected>(q));
  EXPECT_EQ(json::parse(to_json(std::get<Rejected>(q).errors)).at(0).at("description").as_string(),
            "start_date, end_date: may span at most 90 days");
  EXPECT_TRUE(std::holds_alternative<ReportQuery>(
      parse_query({{"start_date", "2024-01-01T00:00:00Z"}, {"end_date", "2024-03-31T00:00:00Z"}}, registry(), kNow)));
}

TEST(Open311Test, ALocationIsRequiredAndUnknownParametersAreRefused) {
  auto r = parse_request({{"service_code", "flood"}, {"attribute[district]", "380"}}, registry(), kNow, {});
  ASSERT_TRUE(std::holds_alternative<Rejected>(r));
  EXPECT_NE(std::get<Rejected>(r).errors[0].description.find("a location is required"), std::string::npos);
  r = parse_request({{"service_code", "flood"}, {"attribute[district]", "380"}, {"address_id", "A-17"}}, registry(),
                    kNow, {});
  ASSERT_TRUE(std::holds_alternative<Report>(r));
  EXPECT_EQ(std::get<Report>(r).address_id, "A-17");
  EXPECT_EQ(std::get<Report>(r).address, "");
  r = parse_request({{"service_code", "flood"}, {"colour", "red"}, {"attribute[si ze]", "1"}, {"attribute[]", "1"}},
                    registry(), kNow, {});
  ASSERT_TRUE(std::holds_alternative<Rejected>(r));
  EXPECT_EQ(std::get<Rejected>(r).errors.size(), 3u);
  EXPECT_NE(std::get<Rejected>(r).errors[0].description.find("colour: unknown parameter; allowed: api_key"),
            std::string::npos);
  EXPECT_NE(std::get<Rejected>(r).errors[1].description.find("attribute[CODE] (CODE: 1-64 letters"), std::string::npos);
  r = parse_request({{"service_code", "flood"}, {"service_code", "other"}}, registry(), kNow, {});
  ASSERT_TRUE(std::holds_alternative<Rejected>(r));
  EXPECT_EQ(std::get<Rejected>(r).errors[0].description, "service_code: given more than once");
}

// Regression: the spec's own example, attribute[WHISPAWN]=123456, was refused.
TEST(Open311Test, AttributesTheRegistryDoesNotDefineAreKeptInOrder) {
  auto r = parse_request({{"service_code", "flood"},
                          {"attribute[district]", "380"},
                          {"lat", "19.8"},
                          {"long", "105.7"},
                          {"attribute[WHISPAWN]", "123456"},
                          {"attribute[WHISDCCA]", ""},
                          {"attribute[depth.cm]", "40"}},
                         registry(), kNow, {});
  ASSERT_TRUE(std::holds_alternative<Report>(r));
  using Attributes = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(std::get<Report>(r).attributes, (Attributes{{"WHISPAWN", "123456"}, {"depth.cm", "40"}}));
  Params many{{"service_code", "flood"}, {"attribute[district]", "380"}, {"address_id", "A-17"}};
  for (int i = 0; i < 21; ++i) many.emplace_back("attribute[a" + std::to_string(i) + "]", "1");
  many.emplace_back("attribute[long]", std::string(1001, 'x'));
  r = parse_request(many, registry(), kNow, {});
  ASSERT_TRUE(std::holds_alternative<Rejected>(r));
  EXPECT_EQ(std::get<Rejected>(r).errors.at(0).description,
            "attribute: at most 20 attributes besides district and occurred_at");
  many.resize(3);
  many.emplace_back("attribute[long]", std::string(1001, 'x'));
  r = parse_request(many, registry(), kNow, {});
  ASSERT_TRUE(std::holds_alternative<Rejected>(r));
  EXPECT_EQ(std::get<Rejected>(r).errors.at(0).description, "attribute[long]: at most 1000 bytes");
}

TEST(Open311Test, QueryFiltersFollowTheSpec) {
  auto q = parse_query({{"service_request_id", "a, b"}, {"status", "closed"}}, registry(), kNow);
  ASSERT_TRUE(std::holds_alternative<ReportQuery>(q));
  EXPECT_EQ(std::get<ReportQuery>(q).ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(std::get<ReportQuery>(q).closed, true);
  EXPECT_FALSE(std::get<ReportQuery>(q).start);  // ids are not limited to 90 days
  q = parse_query({{"service_code", "flood,other"}, {"status", "open,closed"}}, registry(), kNow);
  ASSERT_TRUE(std::holds_alternative<ReportQuery>(q));
  EXPECT_FALSE(std::get<ReportQuery>(q).closed);
  EXPECT_EQ(std::get<ReportQuery>(q).start, kNow - std::chrono::hours(24 * 90));
  EXPECT_EQ(std::get<ReportQuery>(q).limit, 1000u);
  q = parse_query({{"start_date", "yesterday"}, {"status", "pending"}, {"service_code", "x"}}, registry(), kNow);
  ASSERT_TRUE(std::holds_alternative<Rejected>(q));
  EXPECT_EQ(std::get<Rejected>(q).errors.size(), 3u);
}

TEST(Open311Test, ARequestHasTheSpecFields) {
  StoredReport s;
  s.report = {"id-1", "flood", "380", "ngập", GeoPoint{19.8, 105.7}, kNow, kNow, "r", {"https://x.org/a.jpg"}, "open311",
              "12 Lê Lợi", "app", ""};
  s.report.address_id = "A-17";
  s.delivery = Delivery::kDelivered;
  s.updates.push_back({"id-1", "resolved", "water pumped out", "op", kNow + std::chrono::hours(1), "Đội cứu hộ"});
  const json::value v = json::parse(request_json(s, registry()));
  EXPECT_EQ(keys(v.as_object()),
            sorted({"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                    "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"}));
  EXPECT_EQ(v.at("status").as_string(), "closed");
  EXPECT_EQ(v.at("status_notes").as_string(), "water pumped out");
  EXPECT_EQ(v.at("address_id").as_string(), "A-17");  // regression: always empty
  EXPECT_EQ(v.at("service_name").as_string(), "Ngập lụt");
  EXPECT_EQ(v.at("updated_datetime").as_string(), "2024-07-01T09:30:00.000Z");
  // Regression: coordinates were written as 1.98E1.
  const std::string text = request_json(s, registry());
  EXPECT_NE(text.find("\"lat\":19.8,\"long\":105.7}"), std::string::npos) << text;
}

}  // namespace
}  // namespace ioc::intake::open311

namespace ioc::intake::open311 {
namespace {

TEST(Open311Test, TextThatIsNotUtf8IsRefusedAndNeverEchoedRaw) {
  auto r = parse_request({{"service_code", "flood"}, {"attribute[district]", "380"}, {"lat", "19.8"},
                          {"long", "105.7"}, {"description", "ng\xFF"}},
                         registry(), kNow, {});
  ASSERT_TRUE(std::holds_alternative<Rejected>(r));
  EXPECT_EQ(std::get<Rejected>(r).errors[0].description, "description: must be UTF-8 text");
  r = parse_request({{"\xFF\xFEname", "1"}}, registry(), kNow, {});
  ASSERT_TRUE(std::holds_alternative<Rejected>(r));
  const std::string body = to_json(std::get<Rejected>(r).errors);
  boost::system::error_code ec;
  (void)json::parse(body, ec);  // strict parser: UTF-8 only
  EXPECT_FALSE(ec) << body;
  EXPECT_EQ(std::get<Rejected>(r).errors[0].description.substr(0, 10), "\xEF\xBF\xBD\xEF\xBF\xBDname");
}

TEST(Open311Test, QueryErrorsAreCapped) {
  std::string codes;
  for (int i = 0; i < 100; ++i) codes += "x" + std::to_string(i) + ",";
  auto q = parse_query({{"service_code", codes}}, registry(), kNow);
  ASSERT_TRUE(std::holds_alternative<Rejected>(q));
  EXPECT_EQ(std::get<Rejected>(q).errors.size(), kMaxListedErrors);
}

}  // namespace
}  // namespace ioc::intake::open311
