#include "answers.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>

#include "ioc/core/time_format.hpp"
#include "open311.hpp"

namespace ioc::intake {

namespace json = boost::json;

std::string_view api_name(Api api) { return api == Api::kOpen311 ? "open311" : "api"; }

http::Response error_for(Api api, http::Status status, std::string_view code, const std::string& message) {
  if (api == Api::kNative) return http::error_response(status, code, message);
  return http::make_response(status, open311::to_json({{static_cast<unsigned>(status), message}}));
}

http::Response stored_response(const Report& r, Api api, Delivery delivery) {
  const bool queued = delivery == Delivery::kQueued;
  if (api == Api::kOpen311) {
    json::object o{{"service_request_id", r.id},
                   {"service_notice", queued ? "queued at intake; it will be delivered when the broker is reachable"
                                             : ""},
                   {"account_id", nullptr}};
    return http::make_response(http::Status::created, json::serialize(json::array{o}));
  }
  json::object o{{"id", r.id}, {"status", queued ? "queued" : "accepted"}, {"district", r.district},
                 {"category", r.category}};
  if (queued) o["message"] = "stored at intake; it will be delivered when the broker is reachable";
  return http::make_response(http::Status::accepted, json::serialize(o));
}

json::object report_json(const StoredReport& s) {
  const Report& r = s.report;
  json::object o{{"id", r.id},
                 {"status", s.status()},
                 {"delivery", to_string(s.delivery)},
                 {"category", r.category},
                 {"district", r.district},
                 {"description", r.description},
                 {"occurred_at", format_rfc3339(r.occurred_at)},
                 {"received_at", format_rfc3339(r.received_at)},
                 {"source", r.source}};
  if (r.location) o["location"] = json::object{{"lat", r.location->lat}, {"lon", r.location->lon}};
  if (!r.address.empty()) o["address"] = r.address;
  if (!r.address_id.empty()) o["address_id"] = r.address_id;
  if (!r.attributes.empty()) {
    json::object attributes;
    for (const auto& [code, value] : r.attributes) attributes[code] = value;
    o["attributes"] = std::move(attributes);
  }
  json::array media;
  for (const auto& u : r.media_urls) media.push_back(json::string(u));
  o["media_urls"] = std::move(media);
  json::array updates;
  for (const ReportStatus& u : s.updates) {
    updates.push_back(json::object{{"status", u.status},
                                   {"note", u.note},
                                   {"operator_id", u.operator_id},
                                   {"agency", u.agency},
                                   {"updated_at", format_rfc3339(u.updated_at)}});
  }
  o["updates"] = std::move(updates);
  return o;
}

std::string lower_media_type(std::string_view content_type) {
  const std::string_view media = content_type.substr(0, content_type.find(';'));
  std::string lower;
  for (const char c : media) {
    if (c != ' ') lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return lower;
}

}  // namespace ioc::intake
