#pragma once
/// The wall's page: files from services/wall/assets/, embedded in the
/// binary at build time (embed_assets.cmake), so the page needs nothing
/// but this service. Immutable; thread-safe.

#include <string_view>
#include <vector>

namespace ioc::wall {

struct Asset {
  std::string_view name;          // file name, e.g. "wall.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;
};

/// Every embedded file.
const std::vector<Asset>& assets();
/// The file named `name`, or nullptr.
const Asset* find_asset(std::string_view name);

}  // namespace ioc::wall
