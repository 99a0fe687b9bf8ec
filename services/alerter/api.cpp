#include "api.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "ioc/codec/json.hpp"
#include "ioc/core/time_format.hpp"

namespace ioc::alerter {

namespace {

std::string time_or_empty(TimePoint t) { return t == TimePoint{} ? std::string() : format_rfc3339(t); }

}  // namespace

boost::json::object alert_json(const AlertEvent& e) {
  boost::json::object o;
  codec::add_alert_fields(e, o);
  o["severity"] = e.severity;
  o["labels"] = codec::labels_json(e.labels);
  o["annotations"] = codec::labels_json(e.annotations);
  o["window_start"] = time_or_empty(e.window_start);
  o["window_end"] = time_or_empty(e.window_end);
  o["starts_at"] = time_or_empty(e.starts_at);
  o["ends_at"] = time_or_empty(e.ends_at);
  o["sent_at"] = time_or_empty(e.sent_at);
  o["revision"] = e.revision;
  boost::json::array ids;
  for (const auto& id : e.sample_ids) ids.emplace_back(id);
  o["sample_ids"] = std::move(ids);
  o["cap"] = "/api/v1/alerts/" + e.id + ".cap";
  return o;
}

void add_routes(http::Router& router, const AlertViewBox& box, CapContext ctx) {
  router.add(http::Verb::get, "/api/v1/alerts", "alerts",
             [&box](const http::Request& req, const http::Params&, const http::Responder& r) {
               const auto view = box.get();
               const auto state = http::query_param(req.target(), "state");
               const auto severity = http::query_param(req.target(), "severity");
               const auto rule = http::query_param(req.target(), "rule");
               boost::json::array alerts;
               for (const AlertEvent& e : view->active) {
                 if (state && *state != to_string(e.state)) continue;
                 if (severity && *severity != e.severity) continue;
                 if (rule && *rule != e.rule) continue;
                 alerts.push_back(alert_json(e));
               }
               boost::json::object body;
               body["count"] = alerts.size();
               body["alerts"] = std::move(alerts);
               r.send(http::make_response(http::Status::ok, boost::json::serialize(body)));
             });
  router.add(http::Verb::get, "/api/v1/alerts/{id}", "alert",
             [&box, ctx](const http::Request&, const http::Params& params, const http::Responder& r) {
               std::string id = params.empty() ? std::string() : params[0].second;
               const bool cap = id.size() > 4 && id.ends_with(".cap");
               if (cap) id.resize(id.size() - 4);
               const auto view = box.get();
               auto it = view->episodes.find(id);
               if (it == view->episodes.end()) {
                 r.send(http::error_response(http::Status::not_found, "not_found",
                                             "no alert '" + id + "' (episodes are kept while active and for the "
                                             "resolved retention after)"));
                 return;
               }
               if (cap) {
                 r.send(http::make_response(http::Status::ok, render_cap(it->second, ctx), "application/cap+xml"));
                 return;
               }
               boost::json::object body = alert_json(it->second.latest);
               if (it->second.first_firing) body["first_firing"] = alert_json(*it->second.first_firing);
               r.send(http::make_response(http::Status::ok, boost::json::serialize(body)));
             });
}

}  // namespace ioc::alerter
