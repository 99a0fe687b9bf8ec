#pragma once
/// Admission: who may call, and how often. The per-address token bucket
/// at header time, before the body is read (gate()); then API keys with
/// scopes (when intake.auth.keys_file is set), invalid keys throttled per
/// address, and the per-key bucket (admit()). A refused request is answered
/// in its API's error format, and counted. Thread-safe; reload_keys() may
/// run concurrently with admit().

#include <optional>
#include <string>
#include <string_view>

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

  /// The per-address limit on the API's paths (an http::Router::Gate):
  /// a 429 to send before the body is read, or nothing.
  std::optional<http::Response> gate(const http::Request& header, const std::string& peer);

  /// Re-reads the keys file (SIGHUP); keeps the old keys when it is invalid.
  void reload_keys();

 private:
  /// Invalid API keys one address may try: 20 at once, then 10 a minute.
  static constexpr RateLimit kBadKeys{10.0 / 60.0, 20};

  void refuse_unauthorized(const http::Responder& res, Api api, const std::string& message) const;
  http::Response too_many(Api api, const TokenBuckets::Decision& d, std::string_view who) const;

  const Clock& clock_;
  Metrics& m_;
  KeyRing keys_;
  TokenBuckets per_ip_;
  TokenBuckets per_key_;
  TokenBuckets bad_keys_;
};

}  // namespace ioc::intake
