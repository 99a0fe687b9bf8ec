#include "report_request.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <cmath>
#include <string>

#include "duplicate_keys.hpp"
#include "ioc/core/time_format.hpp"

namespace ioc::intake {
namespace {

namespace json = boost::json;

constexpr std::string_view kFields[] = {"id",          "category",    "district",   "description", "location",
                                        "occurred_at", "reporter_id", "media_urls", "address"};

std::string join_codes(const auto& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ", ";
    out += i.code;
  }
  return out;
}

std::string kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "unknown";
}

std::size_t utf8_chars(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string human(std::chrono::milliseconds d) {
  using namespace std::chrono;
  const auto ms = d.count();
  if (ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// A measured span, rounded for people: "6m", "2h30m", "about 7973 years".
std::string human_span(std::chrono::milliseconds d) {
  const std::int64_t ms = d.count();
  constexpr std::int64_t kDay = 86'400'000;
  if (ms >= 365 * kDay) return "about " + std::to_string(ms / (365 * kDay + kDay / 4)) + " years";
  const std::int64_t parts[] = {ms / kDay, ms / 3'600'000 % 24, ms / 60'000 % 60, ms / 1000 % 60};
  const char* units[] = {"d", "h", "m", "s"};
  std::string out;
  int shown = 0;
  for (int i = 0; i < 4 && shown < 2; ++i) {
    if (parts[i] == 0) {
      if (shown > 0) break;  // "2d" rather than "2d0h"
      continue;
    }
    out += std::to_string(parts[i]) + units[i];
    ++shown;
  }
  return out.empty() ? std::to_string(ms) + "ms" : out;
}

// Collects field errors while reading a JSON object.
class Reader {
 public:
  explicit Reader(std::vector<FieldError>& errors) : errors_(errors) {}

  void error(std::string field, std::string reason) { errors_.push_back({std::move(field), std::move(reason)}); }

  const json::string* string(const json::object& o, std::string_view key, std::string_view path, bool required) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) {
      if (required) error(std::string(path), "is required");
      return nullptr;
    }
    if (!v->is_string()) {
      error(std::string(path), "must be a string, got " + kind_name(*v));
      return nullptr;
    }
    return &v->get_string();
  }

  std::optional<double> number(const json::object& o, std::string_view key, std::string_view path) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) {
      error(std::string(path), "is required");
      return std::nullopt;
    }
    if (!v->is_number()) {
      error(std::string(path), "must be a number, got " + kind_name(*v));
      return std::nullopt;
    }
    return v->to_number<double>();
  }

 private:
  std::vector<FieldError>& errors_;
};

}  // namespace

namespace {


}  // namespace



bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::variant<Report, Rejection> parse_report(std::string_view body, const Registry& registry, TimePoint now,
                                             const ReportLimits& limits) {
  json::stream_parser parser;
  boost::system::error_code ec;
  const std::size_t consumed = parser.write(body.data(), body.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    return Rejection{400, "invalid_json",
                     "request body is not valid JSON: " + ec.message() + " (at byte " + std::to_string(consumed) + ")",
                     {}};
  }
  const json::value root = parser.release();
  if (!root.is_object()) {
    return Rejection{400, "invalid_json", "request body must be a JSON object, got " + kind_name(root), {}};
  }
  if (auto twice = first_duplicate_key(body)) {
    return Rejection{422, "validation_failed", "1 invalid field; see errors",
                     {{echo(*twice), "given twice in one object; a key may appear once (which one was meant?)"}}};
  }
  return validate_report(root.get_object(), registry, now, limits);
}

std::variant<Report, Rejection> validate_report(const json::object& o, const Registry& registry, TimePoint now,
                                                const ReportLimits& limits) {
  std::vector<FieldError> errors;
  Reader r(errors);
  Report rep;

  for (const auto& kv : o) {
    bool known = false;
    for (std::string_view f : kFields) known |= kv.key() == f;
    if (!known) {
      r.error(std::string(kv.key()),
              "unknown field; allowed: id, category, district, description, location, occurred_at, reporter_id, "
              "media_urls, address");
    }
  }

  if (const auto* s = r.string(o, "id", "id", false)) {
    if (is_uuid(*s)) {
      rep.id = *s;
      for (char& c : rep.id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      r.error("id", "must be a UUID such as 0190f3c4-8b5e-7d41-9a2c-3b7e4f1d2a60 (the client's own report id)");
    }
  }

  if (const auto* s = r.string(o, "category", "category", true)) {
    if (registry.category_index(*s)) {
      rep.category = *s;
    } else {
      r.error("category", "unknown category '" + echo(*s) + "'; allowed: " + join_codes(registry.categories()));
    }
  }
  if (const auto* s = r.string(o, "district", "district", true)) {
    if (registry.district_index(*s)) {
      rep.district = *s;
    } else {
      r.error("district",
              "unknown district code '" + echo(*s) + "'; allowed: " + join_codes(registry.districts()));
    }
  }
  if (const auto* s = r.string(o, "description", "description", false)) {
    if (utf8_chars(*s) > limits.max_description_chars) {
      r.error("description", "must be at most " + std::to_string(limits.max_description_chars) + " characters");
    } else {
      rep.description = *s;
    }
  }
  if (const json::value* loc = o.if_contains("location"); loc != nullptr && !loc->is_null()) {
    if (!loc->is_object()) {
      r.error("location", "must be an object {\"lat\": number, \"lon\": number}, got " + kind_name(*loc));
    } else {
      const json::object& lo = loc->get_object();
      for (const auto& kv : lo) {
        if (kv.key() != "lat" && kv.key() != "lon") {
          r.error("location." + std::string(kv.key()), "unknown field; allowed: lat, lon");
        }
      }
      const auto lat = r.number(lo, "lat", "location.lat");
      const auto lon = r.number(lo, "lon", "location.lon");
      bool ok = lat && lon;
      if (lat && !(std::isfinite(*lat) && *lat >= -90 && *lat <= 90)) {
        r.error("location.lat", "must be between -90 and 90 degrees, got " + json::serialize(lo.at("lat")));
        ok = false;
      }
      if (lon && !(std::isfinite(*lon) && *lon >= -180 && *lon <= 180)) {
        r.error("location.lon", "must be between -180 and 180 degrees, got " + json::serialize(lo.at("lon")));
        ok = false;
      }
      if (ok) rep.location = GeoPoint{*lat, *lon};
    }
  }
  if (const auto* s = r.string(o, "occurred_at", "occurred_at", true)) {
    auto t = parse_rfc3339(*s);
    if (!t.ok()) {
      r.error("occurred_at", "must be an RFC 3339 date-time with offset, e.g. 2024-07-01T08:30:00+07:00 (" +
                                 t.error().message + ")");
    } else if (*t > now + limits.max_future_skew) {
      r.error("occurred_at", "is " + human_span(std::chrono::duration_cast<std::chrono::milliseconds>(*t - now)) +
                                 " in the future; at most " + human(limits.max_future_skew) + " of clock skew is allowed");
    } else if (*t < now - limits.max_age) {
      r.error("occurred_at", "is older than " + human(limits.max_age) + "; such reports are not accepted");
    } else {
      rep.occurred_at = *t;
    }
  }
  if (const auto* s = r.string(o, "reporter_id", "reporter_id", false)) {
    if (utf8_chars(*s) > limits.max_reporter_id_chars) {
      r.error("reporter_id", "must be at most " + std::to_string(limits.max_reporter_id_chars) + " characters");
    } else {
      rep.reporter_id = *s;
    }
  }
  if (const auto* s = r.string(o, "address", "address", false)) {
    if (utf8_chars(*s) > limits.max_address_chars) {
      r.error("address", "must be at most " + std::to_string(limits.max_address_chars) + " characters");
    } else {
      rep.address = *s;
    }
  }
  if (const json::value* media = o.if_contains("media_urls"); media != nullptr && !media->is_null()) {
    if (!media->is_array()) {
      r.error("media_urls", "must be an array of URLs, got " + kind_name(*media));
    } else if (media->get_array().size() > limits.max_media_urls) {
      r.error("media_urls", "must have at most " + std::to_string(limits.max_media_urls) + " entries");
    } else {
      const json::array& a = media->get_array();
      for (std::size_t i = 0; i < a.size(); ++i) {
        const std::string path = "media_urls[" + std::to_string(i) + "]";
        if (!a[i].is_string()) {
          r.error(path, "must be a string, got " + kind_name(a[i]));
          continue;
        }
        const json::string& u = a[i].get_string();
        if (!(u.starts_with("https://") || u.starts_with("http://")) || u.size() <= 8) {
          r.error(path, "must be an http(s) URL");
        } else if (u.size() > limits.max_url_chars) {
          r.error(path, "must be at most " + std::to_string(limits.max_url_chars) + " characters");
        } else {
          rep.media_urls.emplace_back(u);
        }
      }
    }
  }

  if (!errors.empty()) {
    const std::size_t n = errors.size();
    std::string message = std::to_string(n) + (n == 1 ? " invalid field" : " invalid fields") + "; see errors";
    if (n > kMaxListedErrors) {
      // A hostile body must not get a reply many times its own size.
      errors.resize(kMaxListedErrors);
      message += " (the first " + std::to_string(kMaxListedErrors) + " are listed)";
    }
    for (FieldError& e : errors) e.field = echo(e.field);
    return Rejection{422, "validation_failed", std::move(message), std::move(errors)};
  }
  return rep;
}

std::string to_json(const Rejection& r) {
  json::object o;
  o["error"] = r.code;
  o["message"] = r.message;
  if (!r.errors.empty()) {
    json::array a;
    for (const FieldError& e : r.errors) a.push_back(json::object{{"field", e.field}, {"reason", e.reason}});
    o["errors"] = std::move(a);
  }
  return json::serialize(o);
}

}  // namespace ioc::intake
