#include "ioc/core/bytes.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ioc {
namespace {

TEST(BytesTest, TheFormIsLittleEndianWithLengthPrefixedStrings) {
  // Snapshots and checkpoints written by earlier builds must still read.
  auto write = [](auto& w) {
    w.u8(7);
    w.u32(1);
    w.i32(-1);
    w.i64(-2);
    w.f64(1.5);
    w.str("ab");
  };
  std::string out;
  ByteWriter w(out);
  write(w);
  const std::string expected("\x07"
                             "\x01\x00\x00\x00"
                             "\xff\xff\xff\xff"
                             "\xfe\xff\xff\xff\xff\xff\xff\xff"
                             "\x00\x00\x00\x00\x00\x00\xf8\x3f"
                             "\x02\x00\x00\x00"
                             "ab",
                             31);
  EXPECT_EQ(out, expected);
  EXPECT_EQ(w.size(), 31u);

  std::vector<std::uint8_t> bytes;
  ByteWriter v(bytes);
  write(v);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), expected);

  ByteReader r{std::span<const std::uint8_t>(bytes)};
  EXPECT_EQ(r.u8(), 7);
  EXPECT_EQ(r.u32(), 1u);
  EXPECT_EQ(r.i32(), -1);
  EXPECT_EQ(r.i64(), -2);
  EXPECT_EQ(r.f64(), 1.5);
  EXPECT_EQ(r.view(), "ab");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(BytesTest, AShortInputFailsAndReadsZerosFromThenOn) {
  std::string out;
  ByteWriter w(out);
  w.str("hello");
  w.u64(42);
  ByteReader r(std::string_view(out).substr(0, out.size() - 1));
  EXPECT_EQ(r.str(), "hello");
  EXPECT_EQ(r.u64(), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.u8(), 0);
  EXPECT_EQ(r.str(), "");

  ByteReader s(std::string_view("\x09\x00\x00\x00" "abc", 7));  // says 9 bytes, has 3
  EXPECT_EQ(s.view(), "");
  EXPECT_FALSE(s.ok());
}

TEST(BytesTest, ACountTheRestCannotHoldFails) {
  std::string out;
  ByteWriter w(out);
  w.u32(3);
  w.u64(0);
  w.u64(0);
  w.u64(0);
  ByteReader fits(out);
  EXPECT_EQ(fits.count<std::uint32_t>(8), 3u);
  EXPECT_TRUE(fits.ok());
  ByteReader too_many(out);
  EXPECT_EQ(too_many.count<std::uint32_t>(9), 0u);  // 3 items of 9 bytes need 27, 24 are left
  EXPECT_FALSE(too_many.ok());

  std::string big;
  ByteWriter b(big);
  b.u64(~std::uint64_t{0});
  ByteReader huge(big);
  EXPECT_EQ(huge.count(1), 0u);
  EXPECT_FALSE(huge.ok());
}

TEST(BytesTest, Crc32IsTheIeeeChecksum) {
  EXPECT_EQ(crc32(std::string_view("123456789")), 0xCBF43926u);
  const std::vector<std::uint8_t> v{'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  EXPECT_EQ(crc32(std::span<const std::uint8_t>(v)), 0xCBF43926u);
}

}  // namespace
}  // namespace ioc
