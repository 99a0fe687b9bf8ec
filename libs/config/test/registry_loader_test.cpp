#include "ioc/config/registry_loader.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ioc/core/config_error.hpp"

namespace ioc::config {
namespace {

TEST(RegistryLoaderTest, LoadsShippedDefaults) {
  const std::string dir = IOC_DEFAULT_CONFIG_DIR;
  const Registry r = load_registry(dir + "/districts.yaml", dir + "/categories.yaml");
  EXPECT_EQ(r.districts().size(), 27u);
  EXPECT_EQ(r.district(*r.district_index("407")).name, "Thị xã Nghi Sơn");
  EXPECT_EQ(r.categories().size(), 10u);
  EXPECT_EQ(r.category(*r.category_index("flood")).sdm_subcategory, "flood");
  EXPECT_EQ(r.category(*r.category_index("other")).sdm_category, "");
}

TEST(RegistryLoaderTest, NamesTheBadEntry) {
  const auto dir = std::filesystem::temp_directory_path() / "ioc-registry-loader-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "d.yaml") << "districts:\n  - {code: '1', name: a, slug: a}\n  - {code: '2', name: b}\n";
  std::ofstream(dir / "c.yaml") << "categories:\n  - {code: flood, name: x}\n";
  try {
    (void)load_registry((dir / "d.yaml").string(), (dir / "c.yaml").string());
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "districts[1].slug");
  }
}

}  // namespace
}  // namespace ioc::config
