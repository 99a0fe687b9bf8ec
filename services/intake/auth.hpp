#pragma once
/// API keys for the intake. The keys file lists each key's name, scopes and
/// the SHA-256 of the key (hex), never the key itself:
///
///   keys:
///     - name: field-app
///       sha256: 4f3c…            # printf %s "$KEY" | sha256sum
///       scopes: [submit, read]
///
/// Keys are long random tokens, so one unsalted SHA-256 is what protects
/// them at rest (as for GitHub or Stripe tokens); a password hash would only
/// slow every request. reload() swaps the whole set atomically and keeps the
/// old one when the new file is invalid. Thread-safe.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/unordered/unordered_flat_map.hpp>

#include "ioc/core/result.hpp"

namespace ioc::intake {

enum Scope : unsigned { kSubmit = 1, kRead = 2 };

struct Principal {
  std::string name;
  unsigned scopes = 0;
  bool can(Scope s) const { return (scopes & s) != 0; }
};

/// Lower-case hex SHA-256 of `text`.
std::string sha256_hex(std::string_view text);

class KeyRing {
 public:
  /// Auth off: every request is anonymous with all scopes.
  KeyRing() = default;
  /// Loads `file`; throws ConfigError (file, key, what is allowed) when it is
  /// unreadable or invalid.
  explicit KeyRing(std::string file);

  bool enabled() const { return !file_.empty(); }
  const std::string& file() const { return file_; }
  /// Re-reads the file. On error the current keys stay and the error is returned.
  Status reload();
  std::size_t size() const;

  /// The key's principal, or nullopt when it is unknown.
  std::optional<Principal> find(std::string_view key) const;

 private:
  using Keys = boost::unordered_flat_map<std::string, Principal>;  // by sha256 hex
  static Keys load(const std::string& file);

  std::string file_;
  mutable std::mutex mu_;
  std::shared_ptr<const Keys> keys_ = std::make_shared<Keys>();
};

}  // namespace ioc::intake
