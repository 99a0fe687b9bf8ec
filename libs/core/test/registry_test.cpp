#include "ioc/core/registry.hpp"

#include <gtest/gtest.h>

#include "ioc/core/config_error.hpp"

namespace ioc {
namespace {

Registry small() {
  return Registry({{"380", "Thành phố Thanh Hóa", "thanh-hoa"}, {"381", "Thị xã Bỉm Sơn", "bim-son"}},
                  {{"flood", "Ngập lụt", "naturalDisaster", "flood"}, {"other", "Khác", "", ""}});
}

TEST(RegistryTest, LooksUpCodesByIndex) {
  const Registry r = small();
  ASSERT_TRUE(r.district_index("381").has_value());
  EXPECT_EQ(r.district(*r.district_index("381")).slug, "bim-son");
  EXPECT_EQ(r.category(*r.category_index("flood")).sdm_category, "naturalDisaster");
  EXPECT_FALSE(r.district_index("999").has_value());
  EXPECT_FALSE(r.category_index("Flood").has_value());
}

TEST(RegistryTest, RejectsDuplicateAndEmpty) {
  EXPECT_THROW(Registry({{"380", "a", "a"}, {"380", "b", "b"}}, {{"flood", "", "", ""}}), ConfigError);
  EXPECT_THROW(Registry({}, {{"flood", "", "", ""}}), ConfigError);
  EXPECT_THROW(Registry({{"", "a", "a"}}, {{"flood", "", "", ""}}), ConfigError);
  try {
    [[maybe_unused]] const Registry r({{"380", "a", "a"}}, {{"x", "", "", ""}, {"x", "", "", ""}}, "categories.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.source(), "categories.yaml");
    EXPECT_EQ(e.key(), "categories[1].code");
  }
}

}  // namespace
}  // namespace ioc
