#include "ioc/http/types.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace ioc::http {
namespace {

TEST(TypesTest, ParsesFormAndQuery) {
  const auto f = parse_form("service_code=flood&description=N%C6%B0%E1%BB%9Bc+ng%E1%BA%ADp&lat=19.8&empty=&flag");
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[0], (std::pair<std::string, std::string>{"service_code", "flood"}));
  EXPECT_EQ(f[1].second, "Nước ngập");
  EXPECT_EQ(f[3].second, "");
  EXPECT_EQ(f[4].first, "flag");
  EXPECT_EQ(query_param("/v?group=380%2Fflood&x=1", "group"), "380/flood");
  EXPECT_EQ(query_param("/v?x=1", "group"), std::nullopt);
  EXPECT_EQ(query_param("/v", "group"), std::nullopt);
  EXPECT_EQ(percent_decode("100%", false), "100%");
  EXPECT_EQ(percent_decode("%zz+", false), "%zz+");
  EXPECT_EQ(target_path("/a/b?c=d"), "/a/b");
}

TEST(TypesTest, ErrorBodyIsJson) {
  const Response r = error_response(Status::bad_request, "invalid_json", "say \"why\"");
  EXPECT_EQ(r.result(), Status::bad_request);
  EXPECT_EQ(r[beast_http::field::content_type], "application/json");
  const auto v = boost::json::parse(r.body());
  EXPECT_EQ(v.at("error").as_string(), "invalid_json");
  EXPECT_EQ(v.at("message").as_string(), "say \"why\"");
}

}  // namespace
}  // namespace ioc::http
