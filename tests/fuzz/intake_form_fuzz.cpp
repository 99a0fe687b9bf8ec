// libFuzzer target: arbitrary bytes as an Open311 POST requests.json body
// (application/x-www-form-urlencoded, or application/json when it starts
// with '{') and as a GET requests.json query string. Besides crashes and
// undefined behaviour, it checks what the intake relies on:
//  - a refusal is a 400 with 1..kMaxListedErrors errors and a JSON body;
//  - an accepted report names a known district and category, and its
//    Open311 JSON (what GET requests.json returns) parses back;
//  - a query names only known categories and is bounded.
// A violated property aborts, so libFuzzer keeps the input.
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "ioc/http/types.hpp"
#include "open311.hpp"
#include "report_store.hpp"

namespace {

namespace open311 = ioc::intake::open311;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "intake_form_fuzz: property violated: %s\n", what);
    std::abort();
  }
}

const ioc::Registry& registry() {
  static const ioc::Registry r({{"380", "Thành phố Thanh Hóa", "thanh-hoa-city"}, {"381", "Thị xã Bỉm Sơn", "bim-son"}},
                               {{"flood", "Ngập lụt", "naturalDisaster", "flood", "Nước ngập"}, {"other", "Khác"}});
  return r;
}

bool is_json(const std::string& text) {
  boost::system::error_code ec;
  (void)boost::json::parse(text, ec);  // strict: UTF-8 only
  return !ec;
}

void check_rejected(const open311::Rejected& r) {
  // GeoReport v2: 404 for an unknown service_code, 400 for everything else.
  check(r.status == 400 || r.status == 404, "refused with a status other than 400 or 404");
  check(!r.errors.empty(), "refused without an error");
  check(r.errors.size() <= ioc::intake::kMaxListedErrors, "more errors than kMaxListedErrors");
  bool not_found = false;
  for (const auto& e : r.errors) {
    check((e.code == 400 || e.code == 404) && !e.description.empty(), "error without code or description");
    if (e.code == 404) {
      check(e.description.starts_with("service_code: unknown"), "404 for something else than an unknown service");
      not_found = true;
    }
  }
  check((r.status == 404) == not_found, "the status and the errors' codes disagree");
  check(is_json(open311::to_json(r.errors)), "error body is not JSON");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto now = ioc::from_epoch_ms(1719822600000);

  open311::Params params;
  if (body.starts_with('{')) {
    auto p = open311::params_from_json(body);
    if (auto* rej = std::get_if<open311::Rejected>(&p)) {
      check_rejected(*rej);
      return 0;
    }
    params = std::get<open311::Params>(std::move(p));
  } else {
    params = ioc::http::parse_form(body);
  }

  auto parsed = open311::parse_request(params, registry(), now, ioc::intake::ReportLimits{});
  if (auto* rej = std::get_if<open311::Rejected>(&parsed)) {
    check_rejected(*rej);
  } else {
    ioc::intake::StoredReport s;
    s.report = std::get<ioc::Report>(std::move(parsed));
    check(registry().district_index(s.report.district).has_value(), "accepted an unknown district");
    check(registry().category_index(s.report.category).has_value(), "accepted an unknown category");
    s.report.id = "019a5c3e-7f00-7000-8000-000000000000";
    s.report.received_at = now;
    check(is_json(open311::request_json(s, registry())), "accepted report's Open311 JSON does not parse");
  }

  auto query = open311::parse_query(params, registry(), now);
  if (auto* rej = std::get_if<open311::Rejected>(&query)) {
    check_rejected(*rej);
  } else {
    const auto& q = std::get<ioc::intake::ReportQuery>(query);
    for (const auto& c : q.categories) check(registry().category_index(c).has_value(), "query of unknown category");
    check(q.limit >= 1 && q.limit <= 1000, "query limit out of 1..1000");
    check(!q.ids.empty() || q.start.has_value(), "query without ids has no start");
  }
  return 0;
}
