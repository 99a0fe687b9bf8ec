#pragma once
/// Loads the province registry (districts, report categories) from YAML files.
/// Throws ioc::ConfigError naming the file and entry on bad data.

#include <string>

#include "ioc/core/registry.hpp"

namespace ioc::config {

Registry load_registry(const std::string& districts_file, const std::string& categories_file);

}  // namespace ioc::config
