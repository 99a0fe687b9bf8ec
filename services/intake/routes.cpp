#include "routes.hpp"

#include <boost/json/serialize.hpp>
#include <functional>
#include <type_traits>

#include "open311.hpp"

namespace ioc::intake {

namespace {

// Open311's answers for a request it refused.
http::Response open311_refusal(const open311::Rejected& rej) {
  return http::make_response(static_cast<http::Status>(rej.status), open311::to_json(rej.errors));
}

}  // namespace

Routes::Routes(const Config& cfg, const Registry& registry, const Clock& clock, Metrics& metrics, Admission& admission,
               Submissions& submissions, const ReportStore& store)
    : cfg_(cfg),
      registry_(registry),
      clock_(clock),
      m_(metrics),
      admission_(admission),
      submissions_(submissions),
      store_(store) {}

void Routes::add_to(http::Router& router) {
  auto route = [this, &router](http::Verb verb, const std::string& pattern, const std::string& name, auto member) {
    router.add(verb, pattern, name,
               [this, member](const http::Request& req, const http::Params& params, const http::Responder& res) {
                 if constexpr (std::is_invocable_v<decltype(member), Routes*, const http::Request&, http::Responder>) {
                   (void)params;
                   std::invoke(member, this, req, res);
                 } else {
                   std::invoke(member, this, params, req, res);
                 }
               });
  };
  route(http::Verb::post, "/api/v1/reports", "reports", &Routes::post_report);
  if (cfg_.noop_route) {
    // The benchmarks' baseline: the same server, connection handling and
    // body reading, and nothing else.
    router.add(http::Verb::post, "/bench/noop", "bench_noop", [](const http::Request&, const http::Params&,
                                                                 const http::Responder& res) {
      res.send(http::make_response(http::Status::accepted, R"({"status":"accepted"})"));
    });
  }
  route(http::Verb::get, "/api/v1/reports/{id}", "report", &Routes::get_report);
  route(http::Verb::get, "/open311/v2/services.json", "open311_services", &Routes::get_open311_services);
  route(http::Verb::get, "/open311/v2/services/{file}", "open311_service", &Routes::get_open311_service);
  route(http::Verb::post, "/open311/v2/requests.json", "open311_requests", &Routes::post_open311);
  route(http::Verb::get, "/open311/v2/requests.json", "open311_requests", &Routes::get_open311_requests);
  route(http::Verb::get, "/open311/v2/requests/{file}", "open311_request", &Routes::get_open311_request);
}

// ---------------------------------------------------------------- native API

void Routes::post_report(const http::Request& req, const http::Responder& res) {
  auto caller = admission_.admit(req, res, Api::kNative, kSubmit, nullptr);
  if (!caller) return;
  const std::string media = lower_media_type(req[http::beast_http::field::content_type]);
  if (media != "application/json") {
    m_.invalid.Increment();
    return res.send(error_for(Api::kNative, http::Status::unsupported_media_type, "unsupported_media_type",
                              "Content-Type must be application/json, got '" +
                                  echo(req[http::beast_http::field::content_type]) + "'"));
  }
  auto parsed = parse_report(req.body(), registry_, clock_.now(), cfg_.limits);
  if (auto* rej = std::get_if<Rejection>(&parsed)) {
    m_.invalid.Increment();
    return res.send(http::make_response(static_cast<http::Status>(rej->status), to_json(*rej)));
  }
  submissions_.submit(std::get<Report>(std::move(parsed)), Api::kNative, *caller, req, res);
}

void Routes::get_report(const http::Params& params, const http::Request& req, const http::Responder& res) {
  if (!admission_.admit(req, res, Api::kNative, kRead, nullptr)) return;
  const std::string& id = params.front().second;
  auto s = store_.get(id);
  if (!s) {
    return res.send(error_for(Api::kNative, http::Status::not_found, "not_found",
                              "no report with id '" + echo(id) +
                                  "' is known here (reports are kept for lookup while "
                                  "they are among the last intake.status.max_reports)"));
  }
  res.send(http::make_response(http::Status::ok, boost::json::serialize(report_json(*s))));
}

// ---------------------------------------------------------------- Open311

void Routes::get_open311_services(const http::Request& req, const http::Responder& res) {
  if (admission_.admit(req, res, Api::kOpen311, Scope{0}, nullptr)) {
    res.send(http::make_response(http::Status::ok, open311::services_json(registry_)));
  }
}

void Routes::get_open311_service(const http::Params& params, const http::Request& req, const http::Responder& res) {
  if (!admission_.admit(req, res, Api::kOpen311, Scope{0}, nullptr)) return;
  const std::string& file = params.front().second;
  auto body = file.ends_with(".json")
                  ? open311::service_definition_json(registry_, std::string_view(file).substr(0, file.size() - 5))
                  : std::nullopt;
  if (!body) {
    return res.send(error_for(Api::kOpen311, http::Status::not_found, "not_found",
                              "no such service: " + echo(file) +
                                  " (services are listed at /open311/v2/services.json; only the "
                                  ".json format is served)"));
  }
  res.send(http::make_response(http::Status::ok, *body));
}

void Routes::post_open311(const http::Request& req, const http::Responder& res) {
  // A body that cannot be read (so neither can an api_key in it) is
  // answered only to a caller who passes admission without one: nobody
  // else learns anything from sending bodies.
  auto malformed = [&](http::Response bad) {
    if (!admission_.admit(req, res, Api::kOpen311, kSubmit, nullptr)) return;
    m_.invalid.Increment();
    res.send(std::move(bad));
  };
  const std::string media = lower_media_type(req[http::beast_http::field::content_type]);
  open311::Params params;
  if (media == "application/x-www-form-urlencoded") {
    params = http::parse_form(req.body());
  } else if (media == "application/json") {
    auto p = open311::params_from_json(req.body());
    if (auto* rej = std::get_if<open311::Rejected>(&p)) return malformed(open311_refusal(*rej));
    params = std::get<open311::Params>(std::move(p));
  } else {
    // GeoReport v2 answers every malformed request 400.
    return malformed(error_for(Api::kOpen311, http::Status::bad_request, "unsupported_media_type",
                               "Content-Type must be application/x-www-form-urlencoded or application/json, got '" +
                                   echo(req[http::beast_http::field::content_type]) + "'"));
  }
  const std::string* key = nullptr;
  for (const auto& [k, v] : params) {
    if (k == "api_key") key = &v;
  }
  auto caller = admission_.admit(req, res, Api::kOpen311, kSubmit, key);
  if (!caller) return;
  auto parsed = open311::parse_request(params, registry_, clock_.now(), cfg_.limits);
  if (auto* rej = std::get_if<open311::Rejected>(&parsed)) {
    m_.invalid.Increment();
    return res.send(open311_refusal(*rej));
  }
  submissions_.submit(std::get<Report>(std::move(parsed)), Api::kOpen311, *caller, req, res);
}

void Routes::get_open311_requests(const http::Request& req, const http::Responder& res) {
  if (!admission_.admit(req, res, Api::kOpen311, open311_read_scope(), nullptr)) return;
  const std::string_view target = req.target();
  const std::size_t q = target.find('?');
  const auto params = http::parse_form(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
  auto query = open311::parse_query(params, registry_, clock_.now());
  if (auto* rej = std::get_if<open311::Rejected>(&query)) return res.send(open311_refusal(*rej));
  res.send(http::make_response(http::Status::ok,
                               open311::requests_json(store_.query(std::get<ReportQuery>(query)), registry_)));
}

void Routes::get_open311_request(const http::Params& params, const http::Request& req, const http::Responder& res) {
  if (!admission_.admit(req, res, Api::kOpen311, open311_read_scope(), nullptr)) return;
  const std::string& file = params.front().second;
  if (!file.ends_with(".json")) {
    return res.send(error_for(Api::kOpen311, http::Status::not_found, "not_found",
                              "only the .json format is served: /open311/v2/requests/{service_request_id}.json"));
  }
  auto s = store_.get(std::string_view(file).substr(0, file.size() - 5));
  if (!s) {
    return res.send(error_for(Api::kOpen311, http::Status::not_found, "not_found",
                              "no service request with id '" + echo(file) + "' is known here"));
  }
  res.send(http::make_response(http::Status::ok, open311::requests_json({*s}, registry_)));
}

}  // namespace ioc::intake
