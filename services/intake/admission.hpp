#pragma once
/// Admission: who may call, and how often. Per-IP and per-key token
/// buckets, then API keys with scopes (when intake.auth.keys_file is set);
/// a refused request is answered here, in its API's error format, and
/// counted. Thread-safe; reload_keys() may run concurrently with admit().

#include <optional>
#include <string>

#include "answers.hpp"
#include "auth.hpp"
#include "config.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/http/server.hpp"
#include "metrics.hpp"
#include "rate_limit.hpp"

namespace ioc::intake {

class Admission {
 public:
  /// Throws ioc::ConfigError when the keys file is invalid.
  Admission(const Config& cfg, const Clock& clock, Metrics& metrics);

  /// The caller (name "" with auth off), or nullopt after the refusal was
  /// sent through `res`. `scope` 0: public (service discovery) unless a key
  /// is given. `api_key_param`: Open311's api_key form field, if any.
  std::optional<Principal> admit(const http::Request& req, const http::Responder& res, Api api, Scope scope,
                                 const std::string* api_key_param);

  /// Re-reads the keys file (SIGHUP); keeps the old keys when it is invalid.
  void reload_keys();

 private:
  void refuse_unauthorized(const http::Responder& res, Api api, const std::string& message) const;

  const Clock& clock_;
  Metrics& m_;
  KeyRing keys_;
  TokenBuckets per_ip_;
  TokenBuckets per_key_;
};

}  // namespace ioc::intake
