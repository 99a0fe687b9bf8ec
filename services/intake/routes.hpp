#pragma once
/// The intake's HTTP routes: the native API (POST /api/v1/reports, GET
/// /api/v1/reports/{id}) and Open311 GeoReport v2 (services, requests).
/// Each route admits the caller, validates the request and hands a report
/// to Submissions or answers from the ReportStore. Thread-safe: handlers run
/// on the HTTP threads.

#include "admission.hpp"
#include "config.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/core/registry.hpp"
#include "ioc/http/server.hpp"
#include "metrics.hpp"
#include "report_store.hpp"
#include "submission.hpp"

namespace ioc::intake {

class Routes {
 public:
  Routes(const Config& cfg, const Registry& registry, const Clock& clock, Metrics& metrics, Admission& admission,
         Submissions& submissions, const ReportStore& store);

  /// Adds the native and Open311 routes (and POST /bench/noop when asked for).
  /// The routes refer to this object: it outlives the server.
  void add_to(http::Router& router);

 private:
  void post_report(const http::Request& req, const http::Responder& res);
  void get_report(const http::Params& params, const http::Request& req, const http::Responder& res);
  void get_open311_services(const http::Request& req, const http::Responder& res);
  void get_open311_service(const http::Params& params, const http::Request& req, const http::Responder& res);
  void post_open311(const http::Request& req, const http::Responder& res);
  void get_open311_requests(const http::Request& req, const http::Responder& res);
  void get_open311_request(const http::Params& params, const http::Request& req, const http::Responder& res);
  /// The scope an Open311 lookup needs: none with `intake.open311.public_read`.
  Scope open311_read_scope() const { return cfg_.open311_public_read ? Scope{0} : kRead; }

  const Config& cfg_;
  const Registry& registry_;
  const Clock& clock_;
  Metrics& m_;
  Admission& admission_;
  Submissions& submissions_;
  const ReportStore& store_;
};

}  // namespace ioc::intake
