#pragma once
/// HTTP message types and JSON response helpers shared by server and client.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ioc::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;
using Status = beast_http::status;
using Verb = beast_http::verb;

/// Path parameters captured by a route pattern, e.g. {"view", "reports"}.
using Params = std::vector<std::pair<std::string, std::string>>;

/// A response with `body` and the given content type (default JSON).
Response make_response(Status status, std::string body, std::string_view content_type = "application/json");

/// The project's error body: {"error": code, "message": message}.
Response error_response(Status status, std::string_view code, std::string_view message);

/// Path part of a request target (before '?').
std::string_view target_path(std::string_view target);

/// Why a request cannot be served safely (RFC 9112), or "" when it can:
/// an HTTP/1.1 request without Host (§3.2), or a Transfer-Encoding other
/// than exactly "chunked" (§6.3: the body length is then unknown, and what
/// follows could be read as a second, smuggled request). The server answers
/// 400 and closes the connection.
std::string framing_error(const Request& req);
/// Decodes %XX escapes (and '+' as space when `plus_is_space`); malformed
/// escapes are kept literally.
std::string percent_decode(std::string_view s, bool plus_is_space);
/// Parses application/x-www-form-urlencoded text (also query strings).
std::vector<std::pair<std::string, std::string>> parse_form(std::string_view s);
/// Value of query parameter `name` (percent-decoded), if present.
std::optional<std::string> query_param(std::string_view target, std::string_view name);

}  // namespace ioc::http
