#include "ioc/core/text.hpp"

#include <gtest/gtest.h>

namespace ioc {
namespace {

TEST(EchoTest, CutsOnCharacterBoundariesAndReplacesBadBytes) {
  EXPECT_EQ(echo("abc"), "abc");
  EXPECT_EQ(echo("ngập lụt", 5), "ngậ...");  // "ngậ" is 5 bytes; the next character would not fit
  EXPECT_EQ(echo("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(echo("\xE1\xBA"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // a truncated sequence
  EXPECT_TRUE(valid_utf8("Thanh Hóa"));
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));        // overlong
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));    // surrogate
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80")); // past U+10FFFF
}

// Regression: input was echoed whole (a 60 KB category came back in its
// 422, 15 KB of path in every 404) or raw (bytes 0xFF 0xFE in JSON).
TEST(EchoTest, IsBoundedWhateverTheInput) {
  const std::string big(60'000, 'x');
  EXPECT_EQ(echo(big).size(), kMaxEchoBytes + 3);
  EXPECT_TRUE(valid_utf8(echo("\xFF\xFE" + big, 128)));
}

TEST(MarkupTest, MarkupCharactersAreEscapedAndForbiddenControlsBecomeSpaces) {
  std::string out = "<p>";
  append_markup_escaped(out, "Sạt lở \"A&B\" <b>'x'</b>\x01\tend\n");
  EXPECT_EQ(out, "<p>Sạt lở &quot;A&amp;B&quot; &lt;b&gt;&#39;x&#39;&lt;/b&gt; \tend\n");
}

}  // namespace
}  // namespace ioc
