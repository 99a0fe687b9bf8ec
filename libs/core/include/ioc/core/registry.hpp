#pragma once
/// Registry: the province's district-level units and the citizen-report
/// categories. Loaded once at start (see ioc::config), then read-only and
/// therefore safe to share between threads. Codes are interned to small
/// integers so hot paths key maps by index, not by string.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

namespace ioc {

struct District {
  std::string code;  // GSO code, e.g. "380"
  std::string name;  // with diacritics, e.g. "Thành phố Thanh Hóa"
  std::string slug;  // ASCII, e.g. "thanh-hoa-city"
};

struct Category {
  std::string code;             // e.g. "flood"
  std::string name;             // Vietnamese name, e.g. "Ngập lụt"
  std::string sdm_category;     // FIWARE Smart Data Models Alert category, may be empty
  std::string sdm_subcategory;  // FIWARE SDM Alert subCategory, may be empty
  std::string description;      // what to report under it (Open311 service description), may be empty
};

class Registry {
 public:
  using Index = std::uint16_t;

  /// Throws ioc::ConfigError on empty lists, duplicate or empty codes.
  Registry(std::vector<District> districts, std::vector<Category> categories,
           const std::string& source = "registry");

  const std::vector<District>& districts() const { return districts_; }
  const std::vector<Category>& categories() const { return categories_; }

  std::optional<Index> district_index(std::string_view code) const;
  std::optional<Index> category_index(std::string_view code) const;
  const District& district(Index i) const { return districts_.at(i); }
  const Category& category(Index i) const { return categories_.at(i); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  };
  using IndexMap = boost::unordered_flat_map<std::string, Index, Hash, Eq>;

  std::vector<District> districts_;
  std::vector<Category> categories_;
  IndexMap district_by_code_;
  IndexMap category_by_code_;
};

}  // namespace ioc
