#include "ioc/core/registry.hpp"

#include <boost/container_hash/hash.hpp>
#include <limits>

#include "ioc/core/config_error.hpp"

namespace ioc {
namespace {

template <typename T>
void index_codes(const std::vector<T>& items, auto& map, const std::string& source, const char* what) {
  if (items.empty()) throw ConfigError(source, what, "at least one entry is required");
  if (items.size() > std::numeric_limits<Registry::Index>::max()) {
    throw ConfigError(source, what, "too many entries");
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& code = items[i].code;
    if (code.empty()) throw ConfigError(source, std::string(what) + "[" + std::to_string(i) + "].code", "must not be empty");
    if (!map.emplace(code, static_cast<Registry::Index>(i)).second) {
      throw ConfigError(source, std::string(what) + "[" + std::to_string(i) + "].code", "duplicate code '" + code + "'");
    }
  }
}

}  // namespace

std::size_t Registry::Hash::operator()(std::string_view s) const noexcept {
  return boost::hash_range(s.begin(), s.end());
}

Registry::Registry(std::vector<District> districts, std::vector<Category> categories, const std::string& source)
    : districts_(std::move(districts)), categories_(std::move(categories)) {
  index_codes(districts_, district_by_code_, source, "districts");
  index_codes(categories_, category_by_code_, source, "categories");
}

std::optional<Registry::Index> Registry::district_index(std::string_view code) const {
  if (auto it = district_by_code_.find(code); it != district_by_code_.end()) return it->second;
  return std::nullopt;
}

std::optional<Registry::Index> Registry::category_index(std::string_view code) const {
  if (auto it = category_by_code_.find(code); it != category_by_code_.end()) return it->second;
  return std::nullopt;
}

}  // namespace ioc
