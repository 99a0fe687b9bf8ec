#include "api.hpp"

#include <algorithm>

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

boost::json::array cap_urls(const std::string& id, const std::vector<std::uint32_t>& numbers) {
  boost::json::array out;
  for (std::uint32_t n : numbers) out.emplace_back(cap_message_path(id, n));
  return out;
}

boost::json::array cap_urls(const AlertBook::Episode& ep) {
  std::vector<std::uint32_t> numbers;
  for (const CapMessage& m : ep.cap) numbers.push_back(m.n);
  return cap_urls(ep.latest.id, numbers);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

http::Response bad_request(std::string_view field, std::string_view reason) {
  boost::json::object o;
  o["error"] = "bad_request";
  o["message"] = std::string(field) + ": " + std::string(reason);
  o["errors"] = boost::json::array{boost::json::object{{"field", field}, {"reason", reason}}};
  return http::make_response(http::Status::bad_request, boost::json::serialize(o));
}

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

boost::json::object episode_json(const EpisodeRecord& r) {
  boost::json::object o;
  o["id"] = r.id;
  o["fingerprint"] = r.fingerprint;
  o["rule"] = r.rule;
  o["severity"] = r.severity;
  o["labels"] = codec::labels_json(r.labels);
  o["started"] = format_rfc3339(r.started);
  if (r.ended) {
    o["ended"] = format_rfc3339(*r.ended);
    o["duration_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(*r.ended - r.started).count();
  } else {
    o["ended"] = nullptr;
    o["duration_seconds"] = nullptr;
  }
  o["peak_value"] = r.peak_value;
  o["peak"] = r.peak_summary;
  o["last_value"] = r.last_value;
  o["last"] = r.last_summary;
  o["cap_messages"] = cap_urls(r.id, r.cap_messages);
  return o;
}

Result<TimePoint> parse_time_bound(std::string_view text, bool end_of_day) {
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    auto t = parse_rfc3339(std::string(text) + "T00:00:00Z");
    if (!t.ok()) return invalid_argument("'" + std::string(text) + "' is not a date YYYY-MM-DD: " + t.error().message);
    return end_of_day ? *t + std::chrono::hours(24) : *t;
  }
  auto t = parse_rfc3339(text);
  if (!t.ok()) {
    return invalid_argument("'" + std::string(text) + "' is neither YYYY-MM-DD nor RFC 3339 (e.g. 2024-07-01T08:00:00+07:00): " +
                            t.error().message);
  }
  return *t;
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
                 if (auto ep = view->episodes.find(e.id); ep != view->episodes.end()) o["cap_messages"] = cap_urls(ep->second);
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
                                             "resolved retention after; /api/v1/episodes has the history)"));
                 return;
               }
               const AlertBook::Episode& ep = it->second;
               if (cap) {
                 if (ep.cap.empty()) {
                   r.send(http::error_response(http::Status::not_found, "not_found",
                                               "alert '" + id + "' has no CAP message: CAP starts when an alert fires"));
                   return;
                 }
                 r.send(http::make_response(http::Status::ok, render_cap(ep, ep.cap.back(), ctx), "application/cap+xml"));
                 return;
               }
               boost::json::object body = alert_json(ep.latest);
               const Folding folding(*view);
               if (const rules::Folded* fold = folding.of(id)) add_fold(*fold, body);
               if (ep.first_firing) body["first_firing"] = alert_json(*ep.first_firing);
               body["cap_messages"] = cap_urls(ep);
               r.send(http::make_response(http::Status::ok, boost::json::serialize(body)));
             });
  router.add(http::Verb::get, "/api/v1/alerts/{id}/cap/{n}", "alert_cap",
             [&box, ctx](const http::Request&, const http::Params& params, const http::Responder& r) {
               const std::string id = params.size() > 0 ? params[0].second : std::string();
               const std::string n = params.size() > 1 ? params[1].second : std::string();
               const auto view = box.get();
               auto it = view->episodes.find(id);
               const CapMessage* m = nullptr;
               if (it != view->episodes.end() && all_digits(n) && n.size() < 10) {
                 m = it->second.cap_message(static_cast<std::uint32_t>(std::stoul(n)));
               }
               if (m == nullptr) {
                 r.send(http::error_response(http::Status::not_found, "not_found",
                                             "no CAP message " + n + " of alert '" + id +
                                                 "' (kept while the episode is active and for the resolved "
                                                 "retention after)"));
                 return;
               }
               r.send(http::make_response(http::Status::ok, render_cap(it->second, *m, ctx), "application/cap+xml"));
             });
  router.add(http::Verb::get, "/api/v1/cap.atom", "cap_feed",
             [&box, ctx](const http::Request&, const http::Params&, const http::Responder& r) {
               r.send(http::make_response(http::Status::ok, render_cap_feed(box.get()->episodes, ctx),
                                          "application/atom+xml"));
             });
  router.add(http::Verb::get, "/api/v1/episodes", "episodes",
             [&box](const http::Request& req, const http::Params&, const http::Responder& r) {
               TimePoint from = TimePoint::min();
               TimePoint to = TimePoint::max();
               for (const char* field : {"from", "to"}) {
                 const auto text = http::query_param(req.target(), field);
                 if (!text) continue;
                 auto t = parse_time_bound(*text, std::string_view(field) == "to");
                 if (!t.ok()) {
                   r.send(bad_request(field, t.error().message));
                   return;
                 }
                 (std::string_view(field) == "from" ? from : to) = *t;
               }
               if (to <= from) {
                 r.send(bad_request("to", "must be after from"));
                 return;
               }
               const auto rule = http::query_param(req.target(), "rule");
               const auto district = http::query_param(req.target(), "district");
               boost::json::array episodes;
               for (const EpisodeRecord& e : box.history().between(from, to)) {
                 if (rule && *rule != e.rule) continue;
                 if (district) {
                   auto l = std::find_if(e.labels.begin(), e.labels.end(),
                                         [](const Label& x) { return x.name == "district"; });
                   if (l == e.labels.end() || l->value != *district) continue;
                 }
                 episodes.push_back(episode_json(e));
               }
               boost::json::object body;
               body["count"] = episodes.size();
               body["episodes"] = std::move(episodes);
               r.send(http::make_response(http::Status::ok, boost::json::serialize(body)));
             });
}

}  // namespace ioc::alerter
