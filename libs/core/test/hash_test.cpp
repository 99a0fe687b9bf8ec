#include "ioc/core/hash.hpp"

#include <gtest/gtest.h>

namespace ioc {
namespace {

// Stored in checkpoints and snapshot fingerprints: these values must never change.
TEST(HashTest, Fnv1aValuesArePinned) {
  EXPECT_EQ(fnv1a(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a("foobar"), 0x85944171f73967e8ULL);
  EXPECT_EQ(fnv1a("bar", fnv1a("foo")), fnv1a("foobar"));
  static_assert(fnv1a("a") == 0xaf63dc4c8601ec8cULL, "usable at compile time");
}

}  // namespace
}  // namespace ioc
