#include "admission.hpp"

#include "ioc/core/log.hpp"

namespace ioc::intake {

Admission::Admission(const Config& cfg, const Clock& clock, Metrics& metrics)
    : clock_(clock),
      m_(metrics),
      keys_(cfg.keys_file.empty() ? KeyRing() : KeyRing(cfg.keys_file)),
      per_ip_(cfg.per_ip),
      per_key_(cfg.per_key),
      bad_keys_(kBadKeys) {
  m_.api_keys.Set(keys_.enabled() ? static_cast<double>(keys_.size()) : -1);
}

http::Response Admission::too_many(Api api, const TokenBuckets::Decision& d, std::string_view who) const {
  m_.rate_limited.Increment();
  http::Response r = error_for(api, http::Status::too_many_requests, "rate_limited",
                               "too many requests from this " + std::string(who) + "; retry in " +
                                   std::to_string(d.retry_after_s) + "s");
  r.set(http::beast_http::field::retry_after, std::to_string(d.retry_after_s));
  return r;
}

std::optional<http::Response> Admission::gate(const http::Request& header, const std::string& peer) {
  const std::string_view path = header.target();
  const bool open311 = path.starts_with("/open311/");
  if (!open311 && !path.starts_with("/api/")) return std::nullopt;  // health, metrics: never limited
  if (auto d = per_ip_.take(peer, clock_.now()); !d.allowed) {
    return too_many(open311 ? Api::kOpen311 : Api::kNative, d, "address");
  }
  return std::nullopt;
}

void Admission::refuse_unauthorized(const http::Responder& res, Api api, const std::string& message) const {
  m_.unauthorized.Increment();
  http::Response r = error_for(api, http::Status::unauthorized, "unauthorized", message);
  r.set(http::beast_http::field::www_authenticate, "ApiKey header=\"X-API-Key\"");
  res.send(std::move(r));
}

std::optional<Principal> Admission::admit(const http::Request& req, const http::Responder& res, Api api, Scope scope,
                                          const std::string* api_key_param) {
  const TimePoint now = clock_.now();
  auto limited = [&](const TokenBuckets::Decision& d, std::string_view who) { res.send(too_many(api, d, who)); };
  if (!keys_.enabled()) return Principal{"", kSubmit | kRead};
  std::string key(req["X-API-Key"]);
  if (key.empty() && api_key_param != nullptr) key = *api_key_param;
  // Only Open311 takes the key as a parameter (its spec's api_key); the
  // native API only in the header, so that keys stay out of URLs and logs.
  if (key.empty() && api == Api::kOpen311) {
    if (auto q = http::query_param(req.target(), "api_key")) key = *q;
  }
  if (scope == Scope{0} && key.empty()) return Principal{};  // public: service discovery
  if (key.empty()) {
    refuse_unauthorized(res, api,
                        "an API key is required: send it as the X-API-Key header" +
                            std::string(api == Api::kOpen311 ? " or the api_key parameter" : ""));
    return std::nullopt;
  }
  auto p = keys_.find(key);
  if (!p) {
    // Guessing keys is throttled per address, whatever intake.rate_limit.per_ip says.
    if (auto d = bad_keys_.take(res.peer(), now); !d.allowed) {
      limited(d, "address (invalid API keys)");
      return std::nullopt;
    }
  }
  if (!p && api == Api::kOpen311) {
    // GeoReport v2: "403 - Invalid api_key".
    m_.unauthorized.Increment();
    res.send(error_for(api, http::Status::forbidden, "forbidden", "the api_key is not valid"));
    return std::nullopt;
  }
  if (!p) {
    refuse_unauthorized(res, api, "the API key is not valid");
    return std::nullopt;
  }
  if (scope != Scope{0} && !p->can(scope)) {
    m_.unauthorized.Increment();
    res.send(error_for(api, http::Status::forbidden, "forbidden",
                       "the API key '" + p->name + "' lacks the scope '" + (scope == kSubmit ? "submit" : "read") +
                           "'"));
    return std::nullopt;
  }
  if (auto d = per_key_.take(p->name, now); !d.allowed) {
    limited(d, "API key");
    return std::nullopt;
  }
  return p;
}

void Admission::reload_keys() {
  if (!keys_.enabled()) return log::info("no keys file to reload (authentication is off)");
  if (Status s = keys_.reload(); !s.ok()) {
    return log::error("keys file not reloaded; the previous keys stay in force", {{"error", s.error().message}});
  }
  m_.api_keys.Set(static_cast<double>(keys_.size()));
  log::info("keys reloaded", {{"file", keys_.file()}, {"keys", static_cast<std::int64_t>(keys_.size())}});
}

}  // namespace ioc::intake
