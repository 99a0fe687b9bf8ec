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

// The aggregator's group keys, record identities and state partitions.
TEST(HashTest, ShortBasisValuesArePinned) {
  EXPECT_EQ(fnv1a("", kFnv1aShortBasis), 0x14650fb0739d0383ULL);
  EXPECT_EQ(fnv1a("a", kFnv1aShortBasis), 0x44bd8ad473cd9906ULL);
  EXPECT_EQ(fnv1a("foobar", kFnv1aShortBasis), 0x88fad7c0a8ff07f2ULL);
  EXPECT_NE(kFnv1aShortBasis, kFnv1aBasis);
}

TEST(HashTest, WordStepsArePinned) {
  // A record identity: key "k", 10 bytes, timestamp 1000.
  EXPECT_EQ(fnv1a_word(1000, fnv1a_word(10, fnv1a("k", kFnv1aShortBasis))), 0x140d90512a08bcfaULL);
  // A group key: view 3, labels "380" and "flood", each after a 0x1f step.
  std::uint64_t h = fnv1a_word(3, kFnv1aShortBasis);
  for (const std::string_view v : {"380", "flood"}) h = fnv1a(v, fnv1a_word(0x1f, h));
  EXPECT_EQ(h, 0x981e0cc923c443ddULL);
}

}  // namespace
}  // namespace ioc
