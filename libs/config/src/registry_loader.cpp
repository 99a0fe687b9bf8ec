#include "ioc/config/registry_loader.hpp"

#include <yaml-cpp/yaml.h>

#include "ioc/core/config_error.hpp"

namespace ioc::config {
namespace {

YAML::Node load_list(const std::string& file, const char* key) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    throw ConfigError(file, key, "cannot open the registry file");
  } catch (const YAML::Exception& e) {
    throw ConfigError(file, "line " + std::to_string(e.mark.line + 1), "invalid YAML: " + e.msg);
  }
  YAML::Node list = root.IsMap() ? root[key] : YAML::Node();
  if (!list || !list.IsSequence()) throw ConfigError(file, key, "must be a list of entries");
  return list;
}

std::string field(const YAML::Node& item, const std::string& file, const std::string& where, const char* name,
                  bool required) {
  const YAML::Node n = item[name];
  if (!n || n.IsNull()) {
    if (required) throw ConfigError(file, where + "." + name, "is required");
    return {};
  }
  if (!n.IsScalar()) throw ConfigError(file, where + "." + name, "must be a string");
  return n.Scalar();
}

}  // namespace

Registry load_registry(const std::string& districts_file, const std::string& categories_file) {
  std::vector<District> districts;
  const YAML::Node dl = load_list(districts_file, "districts");
  for (std::size_t i = 0; i < dl.size(); ++i) {
    const std::string where = "districts[" + std::to_string(i) + "]";
    if (!dl[i].IsMap()) throw ConfigError(districts_file, where, "must be a mapping with code, name, slug");
    districts.push_back({field(dl[i], districts_file, where, "code", true),
                         field(dl[i], districts_file, where, "name", true),
                         field(dl[i], districts_file, where, "slug", true)});
  }
  std::vector<Category> categories;
  const YAML::Node cl = load_list(categories_file, "categories");
  for (std::size_t i = 0; i < cl.size(); ++i) {
    const std::string where = "categories[" + std::to_string(i) + "]";
    if (!cl[i].IsMap()) throw ConfigError(categories_file, where, "must be a mapping with code, name");
    categories.push_back({field(cl[i], categories_file, where, "code", true),
                          field(cl[i], categories_file, where, "name", true),
                          field(cl[i], categories_file, where, "sdm_category", false),
                          field(cl[i], categories_file, where, "sdm_subcategory", false),
                          field(cl[i], categories_file, where, "description", false)});
  }
  return Registry(std::move(districts), std::move(categories), districts_file + ", " + categories_file);
}

}  // namespace ioc::config
