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
  // Regression: absolute-form targets were not routed (404).
  EXPECT_EQ(target_path("http://localhost:8080/api/v1/reports?x=1"), "/api/v1/reports");
  EXPECT_EQ(target_path("HTTPS://example.org"), "/");
  EXPECT_EQ(target_path("http://example.org?q"), "/");
}

// Regression: Transfer-Encoding other than chunked let a body be read as a
// second request, and HTTP/1.1 without Host was served.
TEST(TypesTest, FramingErrors) {
  Request ok{beast_http::verb::post, "/r", 11};
  ok.set(beast_http::field::host, "x");
  EXPECT_EQ(framing_error(ok), "");
  Request chunked = ok;
  chunked.set(beast_http::field::transfer_encoding, "Chunked");
  EXPECT_EQ(framing_error(chunked), "");
  for (const char* te : {"gzip", "identity", "xchunked", "chunked, identity", "gzip, chunked"}) {
    Request r = ok;
    r.set(beast_http::field::transfer_encoding, te);
    EXPECT_NE(framing_error(r).find("not supported"), std::string::npos) << te;
  }
  chunked.set(beast_http::field::content_length, "5");
  EXPECT_NE(framing_error(chunked).find("both"), std::string::npos);
  Request no_host{beast_http::verb::get, "/", 11};
  EXPECT_NE(framing_error(no_host).find("Host"), std::string::npos);
  Request old_http{beast_http::verb::get, "/", 10};
  EXPECT_EQ(framing_error(old_http), "");
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
