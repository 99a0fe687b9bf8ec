#include "ioc/core/result.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace ioc {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return invalid_argument("must be > 0");
  return v;
}

TEST(ResultTest, HoldsValueOrError) {
  auto ok = parse_positive(3);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "must be > 0");
}

TEST(ResultTest, MovesOnlyTypes) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(ResultTest, VoidStatus) {
  Status s;
  EXPECT_TRUE(s.ok());
  Status e = unavailable("broker down");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kUnavailable);
  EXPECT_STREQ(to_string(e.error().code), "unavailable");
}

}  // namespace
}  // namespace ioc
