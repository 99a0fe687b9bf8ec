#include "ioc/rules/template.hpp"

#include <gtest/gtest.h>

#include <map>

namespace ioc::rules {
namespace {

std::string render(const Template& t, const std::map<std::string, std::string>& vars) {
  return t.render([&](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

TEST(TemplateTest, RendersPlaceholdersAndLiterals) {
  auto t = Template::compile("{{value}} flood reports in {{ district_name }} (threshold {{threshold}})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(render(*t, {{"value", "23"}, {"district_name", "Thành phố Thanh Hóa"}, {"threshold", "20"}}),
            "23 flood reports in Thành phố Thanh Hóa (threshold 20)");
  EXPECT_EQ(t->names(), (std::vector<std::string>{"value", "district_name", "threshold"}));
}

TEST(TemplateTest, UnknownNamesRenderEmpty) {
  auto t = Template::compile("a{{x}}b");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(render(*t, {}), "ab");
}

TEST(TemplateTest, PlainTextHasNoNames) {
  auto t = Template::compile("Call the district's flood team.");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->names().empty());
  EXPECT_EQ(render(*t, {}), "Call the district's flood team.");
}

TEST(TemplateTest, MalformedPlaceholdersAreErrors) {
  EXPECT_NE(Template::compile("{{value").error().message.find("unclosed"), std::string::npos);
  EXPECT_NE(Template::compile("x {{ }} y").error().message.find("empty"), std::string::npos);
  EXPECT_NE(Template::compile("{{a-b}}").error().message.find("letters"), std::string::npos);
}

}  // namespace
}  // namespace ioc::rules
