#include "ioc/core/ids.hpp"

#include <gtest/gtest.h>

#include <set>

namespace ioc {
namespace {

TEST(IdGeneratorTest, ProducesSortableUniqueV7) {
  ManualClock clock(from_epoch_ms(1719822600000));
  IdGenerator gen(clock, 42);
  std::set<std::string> seen;
  std::string prev;
  for (int i = 0; i < 10000; ++i) {
    if (i % 1000 == 0) clock.advance(Millis(1));
    std::string id = gen.next();
    ASSERT_TRUE(is_uuid(id)) << id;
    EXPECT_EQ(id[14], '7');  // version nibble
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');  // variant
    EXPECT_LT(prev, id);  // monotonic even within one millisecond
    prev = id;
    seen.insert(std::move(id));
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(IdGeneratorTest, EncodesTimestamp) {
  ManualClock clock(from_epoch_ms(0x0190'6E6B'C000));
  IdGenerator gen(clock, 1);
  EXPECT_EQ(gen.next().substr(0, 13), "01906e6b-c000");
}

TEST(IdGeneratorTest, StaysMonotonicWhenClockStepsBack) {
  ManualClock clock(from_epoch_ms(1719822600000));
  IdGenerator gen(clock, 7);
  const std::string a = gen.next();
  clock.advance(Millis(-5000));
  EXPECT_LT(a, gen.next());
}

TEST(IsUuidTest, ChecksShape) {
  EXPECT_TRUE(is_uuid("01906e6b-c000-7abc-8def-0123456789ab"));
  EXPECT_FALSE(is_uuid("01906e6b-c000-7abc-8def-0123456789a"));
  EXPECT_FALSE(is_uuid("01906e6bxc000-7abc-8def-0123456789ab"));
  EXPECT_FALSE(is_uuid("01906e6b-c000-7abc-8def-0123456789ag"));
}

TEST(NameUuidTest, OneNameOneVersion5UuidForever) {
  const std::string a = name_uuid("field-app\x1fkey-1");
  EXPECT_TRUE(is_uuid(a));
  EXPECT_EQ(a[14], '5') << "version 5";
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos) << "RFC 9562 variant";
  EXPECT_EQ(name_uuid("field-app\x1fkey-1"), a);
  EXPECT_NE(name_uuid("other-app\x1fkey-1"), a);
  // Stored ids are derived from it: the mapping never changes.
  EXPECT_EQ(name_uuid(""), "0b1d0eba-aeb7-529f-8f36-6156ce559ac9");
}

}  // namespace
}  // namespace ioc
