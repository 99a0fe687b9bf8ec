#pragma once
/// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2), JSON format,
/// mapped onto the intake's own report model:
///   - a service is a report category (service_code = category code);
///   - the district, which a GeoReport request has no field for, is the
///     service attribute `district` (sent as attribute[district]); every
///     service therefore has metadata and a definition listing the
///     districts, and an optional attribute `occurred_at` (default: now);
///   - lat/long become the location, address_string the address,
///     account_id (else device_id) the reporter id, media_url the one media
///     URL. email, first_name, last_name and phone are accepted and not
///     stored: the operations center does not need them to act.
/// Errors use the spec's format, [{"code": 400, "description": "..."}].
/// Pure: registry and time are passed in. Thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "ioc/core/registry.hpp"
#include "report_request.hpp"
#include "report_store.hpp"

namespace ioc::intake::open311 {

using Params = std::vector<std::pair<std::string, std::string>>;

struct Error {
  unsigned code = 400;
  std::string description;
};

/// A refused request: the HTTP status and the spec's error list.
struct Rejected {
  unsigned status = 400;
  std::vector<Error> errors;
};
std::string to_json(const std::vector<Error>& errors);

/// GET services.json
std::string services_json(const Registry& registry);
/// GET services/{code}.json; nullopt for an unknown code.
std::optional<std::string> service_definition_json(const Registry& registry, std::string_view code);

/// The parameters of a JSON request body: an object of strings and numbers,
/// where attributes are "attribute[code]" keys or an "attribute" object.
std::variant<Params, Rejected> params_from_json(std::string_view body);

/// POST requests.json parameters → a Report (id, received_at, source left
/// to the caller), or why not.
std::variant<Report, Rejected> parse_request(const Params& params, const Registry& registry, TimePoint now,
                                             const ReportLimits& limits);

/// GET requests.json filters → a query: service_request_id and service_code
/// (comma-separated), start_date, end_date, status (open, closed). Without
/// ids or dates it covers the last 90 days; at most 1000 results.
std::variant<ReportQuery, Rejected> parse_query(const Params& params, const Registry& registry, TimePoint now);

/// One service request as the spec's JSON object.
std::string request_json(const StoredReport& report, const Registry& registry);
/// A list of them (the body of GET requests.json and requests/{id}.json).
std::string requests_json(const std::vector<StoredReport>& reports, const Registry& registry);

}  // namespace ioc::intake::open311
