#include "auth.hpp"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include "ioc/core/config_error.hpp"

namespace ioc::intake {

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), digest, &n, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (unsigned i = 0; i < n; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

KeyRing::KeyRing(std::string file) : file_(std::move(file)) { keys_ = std::make_shared<Keys>(load(file_)); }

KeyRing::Keys KeyRing::load(const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    throw ConfigError(file, "intake.auth.keys_file", "cannot read the keys file");
  } catch (const YAML::Exception& e) {
    throw ConfigError(file, "line " + std::to_string(e.mark.line + 1), "not valid YAML: " + e.msg);
  }
  const YAML::Node list = root["keys"];
  if (!root.IsMap() || !list || !list.IsSequence()) {
    throw ConfigError(file, "keys", "must be a list of {name, sha256, scopes}");
  }
  Keys keys;
  boost::unordered_flat_map<std::string, bool> names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node k = list[i];
    const std::string where = "keys[" + std::to_string(i) + "]";
    if (!k.IsMap()) throw ConfigError(file, where, "must be a mapping {name, sha256, scopes}");
    for (const auto& kv : k) {
      const std::string key = kv.first.as<std::string>();
      if (key != "name" && key != "sha256" && key != "scopes") {
        throw ConfigError(file, where + "." + key, "unknown field; allowed: name, sha256, scopes");
      }
    }
    Principal p;
    if (!k["name"] || !k["name"].IsScalar() || k["name"].as<std::string>().empty()) {
      throw ConfigError(file, where + ".name", "is required (a name for logs and reports)");
    }
    p.name = k["name"].as<std::string>();
    if (names.contains(p.name)) throw ConfigError(file, where + ".name", "duplicate name '" + p.name + "'");
    names[p.name] = true;
    std::string hash = k["sha256"] && k["sha256"].IsScalar() ? k["sha256"].as<std::string>() : "";
    for (char& c : hash) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
      throw ConfigError(file, where + ".sha256", "must be the 64 hex digits of the key's SHA-256 (printf %s \"$KEY\" | sha256sum)");
    }
    if (!k["scopes"] || !k["scopes"].IsSequence() || k["scopes"].size() == 0) {
      throw ConfigError(file, where + ".scopes", "must be a non-empty list; allowed: submit, read");
    }
    for (const auto& s : k["scopes"]) {
      const std::string scope = s.IsScalar() ? s.as<std::string>() : "";
      if (scope == "submit") {
        p.scopes |= kSubmit;
      } else if (scope == "read") {
        p.scopes |= kRead;
      } else {
        throw ConfigError(file, where + ".scopes", "unknown scope '" + scope + "'; allowed: submit, read");
      }
    }
    if (!keys.emplace(hash, std::move(p)).second) {
      throw ConfigError(file, where + ".sha256", "the same key is listed twice");
    }
  }
  return keys;
}

Status KeyRing::reload() {
  if (!enabled()) return {};
  try {
    auto fresh = std::make_shared<const Keys>(load(file_));
    std::lock_guard lock(mu_);
    keys_ = std::move(fresh);
    return {};
  } catch (const ConfigError& e) {
    return invalid_argument(e.what());
  }
}

std::size_t KeyRing::size() const {
  std::lock_guard lock(mu_);
  return keys_->size();
}

std::optional<Principal> KeyRing::find(std::string_view key) const {
  if (key.empty() || key.size() > 256) return std::nullopt;
  const std::string hash = sha256_hex(key);
  std::shared_ptr<const Keys> keys;
  {
    std::lock_guard lock(mu_);
    keys = keys_;
  }
  auto it = keys->find(hash);
  if (it == keys->end()) return std::nullopt;
  return it->second;
}

}  // namespace ioc::intake
