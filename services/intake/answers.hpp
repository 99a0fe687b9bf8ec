#pragma once
/// The intake's two APIs and how each answers: the project's native JSON
/// (POST /api/v1/reports) and Open311 GeoReport v2. Error bodies, the
/// answer for a stored report, and a report as the status lookup shows it.
/// Pure functions, thread-safe.

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "ioc/core/model.hpp"
#include "ioc/http/types.hpp"
#include "report_store.hpp"

namespace ioc::intake {

enum class Api { kNative, kOpen311 };

/// The report's `source`: "api" or "open311".
std::string_view api_name(Api api);

/// The error body of each API: the project's {"error","message"}, or
/// Open311's [{"code","description"}].
http::Response error_for(Api api, http::Status status, std::string_view code, const std::string& message);

/// The answer for a report the broker or the spool took (202 native, 201
/// Open311), or a retry of it.
http::Response stored_response(const Report& r, Api api, Delivery delivery);

/// A stored report with its delivery state and operator updates (GET
/// /api/v1/reports/{id}).
boost::json::object report_json(const StoredReport& s);

/// The media type of a Content-Type value, lower case, without parameters.
std::string lower_media_type(std::string_view content_type);

}  // namespace ioc::intake
