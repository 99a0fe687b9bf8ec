#include "ioc/core/log.hpp"

#include <gtest/gtest.h>

namespace ioc::log {
namespace {

TEST(LogTest, EscapesJsonStrings) {
  std::string out;
  append_json_string(out, "a\"b\\c\nd\x01");
  EXPECT_EQ(out, R"("a\"b\\c\nd\u0001")");
}

TEST(LogTest, FieldsRenderByType) {
  std::string out;
  Field("port", 8080).append_to(out);
  Field("ok", true).append_to(out);
  Field("ratio", 0.5).append_to(out);
  Field("name", "ioc").append_to(out);
  EXPECT_EQ(out, R"(,"port":8080,"ok":true,"ratio":0.5,"name":"ioc")");
}

TEST(LogTest, ParsesLevels) {
  Level l{};
  EXPECT_TRUE(parse_level("warn", l));
  EXPECT_EQ(l, Level::kWarn);
  EXPECT_FALSE(parse_level("verbose", l));
}

}  // namespace
}  // namespace ioc::log
