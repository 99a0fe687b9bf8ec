#pragma once
/// ConfigError: the one exception type of startup. It names where the bad
/// setting came from (file, environment variable or flag), the key, and what
/// is allowed, so a user can fix it without reading code.

#include <stdexcept>
#include <string>

namespace ioc {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string source, std::string key, const std::string& what_is_allowed)
      : std::runtime_error(source + ": " + key + ": " + what_is_allowed),
        source_(std::move(source)),
        key_(std::move(key)) {}

  const std::string& source() const { return source_; }
  const std::string& key() const { return key_; }

 private:
  std::string source_;
  std::string key_;
};

}  // namespace ioc
