#include "open311.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "duplicate_keys.hpp"
#include "ioc/core/time_format.hpp"

namespace ioc::intake::open311 {
namespace {

namespace json = boost::json;

constexpr std::string_view kRequestParams[] = {
    "api_key",     "jurisdiction_id", "service_code", "lat",       "long",      "address_string",
    "address_id",  "email",           "device_id",    "account_id", "first_name", "last_name",
    "phone",       "description",     "media_url",    "attribute[district]", "attribute[occurred_at]"};
constexpr std::string_view kQueryParams[] = {"api_key",    "jurisdiction_id", "service_request_id", "service_code",
                                             "start_date", "end_date",        "status"};
constexpr std::size_t kMaxResults = 1000;
// Service attributes the registry does not define (the spec's own example
// sends attribute[WHISPAWN]): kept with the report, within these bounds.
constexpr std::size_t kMaxExtraAttributes = 20;
constexpr std::size_t kMaxAttributeCode = 64;
constexpr std::size_t kMaxAttributeValue = 1000;
constexpr auto kDefaultSpan = std::chrono::hours(24 * 90);

template <std::size_t N>
std::string join(const std::string_view (&items)[N]) {
  std::string out;
  for (std::string_view i : items) {
    if (!out.empty()) out += ", ";
    out += i;
  }
  return out;
}

template <std::size_t N>
bool known(const std::string_view (&items)[N], std::string_view key) {
  for (std::string_view i : items) {
    if (i == key) return true;
  }
  return false;
}

// Adds an error unless the list is full (a hostile request must not get a
// reply many times its own size).
void add(Rejected& r, std::string description) {
  if (r.errors.size() < kMaxListedErrors) r.errors.push_back({400, std::move(description)});
}

/// CODE of `attribute[CODE]` for an attribute the registry does not define
/// (1-64 letters, digits, '_', '-', '.'); empty for any other parameter.
std::string_view extra_attribute(std::string_view key) {
  constexpr std::string_view kPrefix = "attribute[";
  if (!key.starts_with(kPrefix) || !key.ends_with(']')) return {};
  const std::string_view code = key.substr(kPrefix.size(), key.size() - kPrefix.size() - 1);
  if (code.empty() || code.size() > kMaxAttributeCode || code == "district" || code == "occurred_at") return {};
  const bool plain = std::all_of(code.begin(), code.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
  return plain ? code : std::string_view();
}

// Checks the parameter names (`attributes`: also attribute[CODE] of any
// plain CODE); the values are read by name.
template <std::size_t N>
std::optional<Rejected> check_names(const Params& params, const std::string_view (&allowed)[N], bool attributes) {
  Rejected r;
  for (std::size_t i = 0; i < params.size() && r.errors.size() < kMaxListedErrors; ++i) {
    const std::string& k = params[i].first;
    const std::string shown = echo(k);
    if (!known(allowed, k) && !(attributes && !extra_attribute(k).empty())) {
      add(r, shown + ": unknown parameter; allowed: " + join(allowed) +
                 (attributes ? ", attribute[CODE] (CODE: 1-64 letters, digits, '_', '-' or '.')" : ""));
      continue;
    }
    if (!valid_utf8(params[i].second)) {
      add(r, shown + ": must be UTF-8 text");
      continue;
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (params[j].first == k) {
        add(r, shown + ": given more than once");
        break;
      }
    }
  }
  if (r.errors.empty()) return std::nullopt;
  return r;
}

/// The parameter's value; an empty one (`lat=&long=`) is absent, as the spec reads it.
const std::string* value(const Params& params, std::string_view key) {
  for (const auto& [k, v] : params) {
    if (k == key && !v.empty()) return &v;
  }
  return nullptr;
}

std::optional<double> number(const std::string& s) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string item = s.substr(i, j - i);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(std::move(item));
    i = j + 1;
  }
  return out;
}

// The Open311 name of a field of the report model.
std::string open311_field(const std::string& field) {
  if (field == "category") return "service_code";
  if (field == "district") return "attribute[district]";
  if (field == "occurred_at") return "attribute[occurred_at]";
  if (field == "location.lat") return "lat";
  if (field == "location.lon") return "long";
  if (field == "reporter_id") return "account_id";
  if (field == "address") return "address_string";
  if (field.starts_with("media_urls")) return "media_url";
  return field;
}

}  // namespace

std::string to_json(const std::vector<Error>& errors) {
  json::array a;
  for (const Error& e : errors) a.push_back(json::object{{"code", e.code}, {"description", e.description}});
  return json::serialize(a);
}

std::string services_json(const Registry& registry) {
  json::array a;
  for (const Category& c : registry.categories()) {
    // GeoReport v2: "a comma separated list of tags or keywords".
    std::string keywords = c.sdm_category;
    if (!c.sdm_subcategory.empty()) keywords += (keywords.empty() ? "" : ",") + c.sdm_subcategory;
    a.push_back(json::object{{"service_code", c.code},
                             {"service_name", c.name},
                             {"description", c.description.empty() ? c.name : c.description},
                             {"metadata", true},
                             {"type", "realtime"},
                             {"keywords", keywords},
                             {"group", c.sdm_category.empty() ? "other" : c.sdm_category}});
  }
  return json::serialize(a);
}

std::optional<std::string> service_definition_json(const Registry& registry, std::string_view code) {
  if (!registry.category_index(code)) return std::nullopt;
  json::array districts;
  for (const District& d : registry.districts()) districts.push_back(json::object{{"key", d.code}, {"name", d.name}});
  json::array attributes;
  attributes.push_back(json::object{{"variable", true},
                                    {"code", "district"},
                                    {"datatype", "singlevaluelist"},
                                    {"required", true},
                                    {"datatype_description", "The district's code"},
                                    {"order", 1},
                                    {"description", "District where it happened"},
                                    {"values", std::move(districts)}});
  attributes.push_back(json::object{{"variable", true},
                                    {"code", "occurred_at"},
                                    {"datatype", "datetime"},
                                    {"required", false},
                                    {"datatype_description", "RFC 3339 date-time with offset, e.g. 2024-07-01T08:30:00+07:00"},
                                    {"order", 2},
                                    {"description", "When it happened, if not just now"}});
  return json::serialize(json::object{{"service_code", code}, {"attributes", std::move(attributes)}});
}

std::variant<Params, Rejected> params_from_json(std::string_view body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec) return Rejected{400, {{400, "request body is not valid JSON: " + ec.message()}}};
  if (!v.is_object()) return Rejected{400, {{400, "request body must be a JSON object"}}};
  if (auto twice = first_duplicate_key(body)) {
    return Rejected{400, {{400, echo(*twice) + ": given twice in one object; a key may appear once"}}};
  }
  Params out;
  Rejected bad;
  auto put = [&](std::string key, const json::value& x) {
    if (x.is_string()) {
      out.emplace_back(std::move(key), std::string(x.get_string()));
    } else if (x.is_number()) {
      out.emplace_back(std::move(key), json::serialize(x));
    } else if (!x.is_null()) {
      add(bad, echo(key) + ": must be a string or a number");
    }
  };
  for (const auto& kv : v.get_object()) {
    if (kv.key() == "attribute" && kv.value().is_object()) {
      for (const auto& a : kv.value().get_object()) put("attribute[" + std::string(a.key()) + "]", a.value());
    } else {
      put(std::string(kv.key()), kv.value());
    }
  }
  if (!bad.errors.empty()) return bad;
  return out;
}

std::variant<Report, Rejected> parse_request(const Params& params, const Registry& registry, TimePoint now,
                                             const ReportLimits& limits) {
  if (auto bad = check_names(params, kRequestParams, true)) return *bad;
  Rejected r;
  json::object o;
  if (const auto* v = value(params, "service_code")) o["category"] = *v;
  if (const auto* v = value(params, "attribute[district]")) o["district"] = *v;
  if (const auto* v = value(params, "description")) o["description"] = *v;
  const std::string* lat = value(params, "lat");
  const std::string* lon = value(params, "long");
  if ((lat == nullptr) != (lon == nullptr)) {
    add(r, std::string(lat ? "long" : "lat") + ": is required with " + (lat ? "lat" : "long"));
  } else if (lat) {
    const auto la = number(*lat);
    const auto lo = number(*lon);
    if (!la) add(r, "lat: must be a decimal number of degrees, got '" + echo(*lat, 32) + "'");
    if (!lo) add(r, "long: must be a decimal number of degrees, got '" + echo(*lon, 32) + "'");
    if (la && lo) o["location"] = json::object{{"lat", *la}, {"lon", *lo}};
  }
  const std::string* address = value(params, "address_string");
  if (address) o["address"] = *address;
  const std::string* address_id = value(params, "address_id");
  if (address_id && address_id->size() > limits.max_address_chars) {
    add(r, "address_id: at most " + std::to_string(limits.max_address_chars) + " characters");
  }
  if (lat == nullptr && address == nullptr && address_id == nullptr) {
    add(r, "lat, long: a location is required: lat and long, or address_string, or address_id");
  }
  std::vector<std::pair<std::string, std::string>> attributes;
  for (const auto& [k, v] : params) {
    const std::string_view code = extra_attribute(k);
    if (code.empty() || v.empty()) continue;
    if (attributes.size() == kMaxExtraAttributes) {
      add(r, "attribute: at most " + std::to_string(kMaxExtraAttributes) + " attributes besides district and occurred_at");
      break;
    }
    if (v.size() > kMaxAttributeValue) {
      add(r, echo(k) + ": at most " + std::to_string(kMaxAttributeValue) + " bytes");
      continue;
    }
    attributes.emplace_back(code, v);
  }
  const std::string* occurred = value(params, "attribute[occurred_at]");
  o["occurred_at"] = occurred ? *occurred : format_rfc3339(now);
  if (const auto* v = value(params, "account_id"); v && !v->empty()) {
    o["reporter_id"] = *v;
  } else if (const auto* d = value(params, "device_id"); d && !d->empty()) {
    o["reporter_id"] = *d;
  }
  if (const auto* v = value(params, "media_url"); v && !v->empty()) o["media_urls"] = json::array{json::string(*v)};

  auto parsed = validate_report(o, registry, now, limits);
  if (auto* rej = std::get_if<Rejection>(&parsed)) {
    for (const FieldError& e : rej->errors) {
      const std::size_t listed = r.errors.size();
      add(r, open311_field(e.field) + ": " + e.reason);
      // GeoReport v2: "404 - service_code not found".
      if (e.field == "category" && e.reason.starts_with("unknown") && r.errors.size() > listed) {
        r.status = 404;
        r.errors.back().code = 404;
      }
    }
  }
  if (!r.errors.empty()) return r;
  Report report = std::get<Report>(std::move(parsed));
  if (address_id) report.address_id = *address_id;
  report.attributes = std::move(attributes);
  return report;
}

std::variant<ReportQuery, Rejected> parse_query(const Params& params, const Registry& registry, TimePoint now) {
  if (auto bad = check_names(params, kQueryParams, false)) return *bad;
  Rejected r;
  ReportQuery q;
  q.limit = kMaxResults;
  if (const auto* v = value(params, "service_request_id")) q.ids = split_list(*v);
  if (const auto* v = value(params, "service_code")) {
    q.categories = split_list(*v);
    for (const std::string& c : q.categories) {
      if (!registry.category_index(c)) add(r, "service_code: unknown service '" + echo(c) + "'");
    }
  }
  for (const char* name : {"start_date", "end_date"}) {
    const auto* v = value(params, name);
    if (!v) continue;
    auto t = parse_rfc3339(*v);
    if (!t.ok()) {
      add(r, std::string(name) + ": must be a W3C / RFC 3339 date-time (" + t.error().message + ")");
    } else {
      (std::string_view(name) == "start_date" ? q.start : q.end) = *t;
    }
  }
  if (q.start && q.end && *q.end - *q.start > kDefaultSpan) {
    add(r, "start_date, end_date: may span at most 90 days");
  }
  if (const auto* v = value(params, "status")) {
    bool open = false, closed = false;
    for (const std::string& s : split_list(*v)) {
      if (s == "open") {
        open = true;
      } else if (s == "closed") {
        closed = true;
      } else {
        add(r, "status: unknown status '" + echo(s, 32) + "'; allowed: open, closed");
      }
    }
    if (open != closed) q.closed = closed;
  }
  if (!r.errors.empty()) return r;
  // The spec's default: the last 90 days (a list of ids is not limited).
  if (q.ids.empty() && !q.start) q.start = (q.end ? *q.end : now) - kDefaultSpan;
  return q;
}

namespace {

json::object request_object(const StoredReport& s, const Registry& registry) {
  const Report& r = s.report;
  const auto ci = registry.category_index(r.category);
  json::object o{{"service_request_id", r.id},
                 {"status", s.closed() ? "closed" : "open"},
                 {"status_notes", s.updates.empty() ? "" : s.updates.back().note},
                 {"service_name", ci ? registry.category(*ci).name : r.category},
                 {"service_code", r.category},
                 {"description", r.description},
                 {"agency_responsible", s.updates.empty() ? "" : s.updates.back().agency},
                 {"service_notice", s.delivery == Delivery::kQueued ? "queued at intake; delivery pending" : ""},
                 {"requested_datetime", format_rfc3339(r.received_at)},
                 {"updated_datetime", format_rfc3339(s.updated_at())},
                 {"expected_datetime", nullptr},
                 {"address", r.address},
                 {"address_id", r.address_id},
                 {"zipcode", ""},
                 {"media_url", r.media_urls.empty() ? "" : r.media_urls.front()}};
  return o;
}

/// Degrees as the spec's examples write them (37.762221), not as Boost.JSON
/// writes a double (3.7762221E1): the shortest decimal that reads back the same.
std::string degrees(double v) {
  std::array<char, 64> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf.data(), end) : json::serialize(json::value(v));
}

/// The request's object, coordinates last.
void append_request(std::string& out, const StoredReport& s, const Registry& registry) {
  std::string text = json::serialize(request_object(s, registry));
  if (const auto& at = s.report.location) {
    text.pop_back();  // the closing brace
    text += ",\"lat\":" + degrees(at->lat) + ",\"long\":" + degrees(at->lon) + "}";
  }
  out += text;
}

}  // namespace

std::string request_json(const StoredReport& report, const Registry& registry) {
  std::string out;
  append_request(out, report, registry);
  return out;
}

std::string requests_json(const std::vector<StoredReport>& reports, const Registry& registry) {
  std::string out = "[";
  for (const StoredReport& s : reports) {
    if (out.size() > 1) out += ',';
    append_request(out, s, registry);
  }
  return out + "]";
}

}  // namespace ioc::intake::open311
