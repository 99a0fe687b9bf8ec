#include "api.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "ioc/codec/json.hpp"
#include "ioc/core/time_format.hpp"
#include "ioc/rules/inhibition.hpp"

namespace ioc::alerter {

namespace {

std::string time_or_empty(TimePoint t) { return t == TimePoint{} ? std::string() : format_rfc3339(t); }

std::string alert_path(const AlertEvent& e) { return "/api/v1/alerts/" + e.id; }

// The active alerts and where each is folded (rules::fold): one card per incident.
struct Folding {
  std::vector<const AlertEvent*> alerts;
  std::vector<rules::Folded> folds;

  explicit Folding(const AlertView& view) {
    for (const AlertEvent& e : view.active) alerts.push_back(&e);
    folds = rules::fold(alerts, view.inhibitions);
  }
  const rules::Folded* of(std::string_view id) const {
    for (std::size_t i = 0; i < alerts.size(); ++i) {
      if (alerts[i]->id == id) return &folds[i];
    }
    return nullptr;
  }
};

// Where an inhibited alert belongs, with links to both.
void add_fold(const rules::Folded& f, boost::json::object& o) {
  if (f.inhibited_by == nullptr) return;
  o["inhibited_by"] = f.inhibited_by->id;
  o["inhibited_by_href"] = alert_path(*f.inhibited_by);
  if (f.card != nullptr) o["folded_into"] = f.card->id;
}

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
  o["cap"] = alert_path(e) + ".cap";
  return o;
}

void add_routes(http::Router& router, const AlertViewBox& box, CapContext ctx) {
  router.add(http::Verb::get, "/api/v1/alerts", "alerts",
             [&box](const http::Request& req, const http::Params&, const http::Responder& r) {
               const auto view = box.get();
               const auto state = http::query_param(req.target(), "state");
               const auto severity = http::query_param(req.target(), "severity");
               const auto rule = http::query_param(req.target(), "rule");
               const auto fold = http::query_param(req.target(), "fold");
               if (fold && *fold != "true" && *fold != "false") {
                 r.send(http::error_response(http::Status::bad_request, "bad_request",
                                             "fold must be true (one card per incident, the default) or false"));
                 return;
               }
               const bool folded = !fold || *fold == "true";
               const Folding f(*view);
               // Each card's folded alerts.
               std::map<const AlertEvent*, boost::json::array> cards;
               if (folded) {
                 for (std::size_t i = 0; i < f.alerts.size(); ++i) {
                   if (f.folds[i].card == nullptr) continue;
                   boost::json::object o;
                   codec::add_alert_fields(*f.alerts[i], o);
                   add_fold(f.folds[i], o);
                   o["href"] = alert_path(*f.alerts[i]);
                   cards[f.folds[i].card].push_back(std::move(o));
                 }
               }
               boost::json::array alerts;
               for (std::size_t i = 0; i < f.alerts.size(); ++i) {
                 const AlertEvent& e = *f.alerts[i];
                 if (folded && f.folds[i].card != nullptr) continue;
                 if (state && *state != to_string(e.state)) continue;
                 if (severity && *severity != e.severity) continue;
                 if (rule && *rule != e.rule) continue;
                 boost::json::object o = alert_json(e);
                 add_fold(f.folds[i], o);
                 if (folded) {
                   auto c = cards.find(&e);
                   o["folded_count"] = c == cards.end() ? 0 : c->second.size();
                   o["folded"] = c == cards.end() ? boost::json::array() : std::move(c->second);
                 }
                 alerts.push_back(std::move(o));
               }
               boost::json::object body;
               body["count"] = alerts.size();
               body["folded"] = folded;
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
               const Folding folding(*view);
               if (const rules::Folded* fold = folding.of(id)) add_fold(*fold, body);
               if (it->second.first_firing) body["first_firing"] = alert_json(*it->second.first_firing);
               r.send(http::make_response(http::Status::ok, boost::json::serialize(body)));
             });
}

}  // namespace ioc::alerter
