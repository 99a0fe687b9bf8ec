#include "ioc/http/types.hpp"

#include <algorithm>
#include <cctype>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace ioc::http {

Response make_response(Status status, std::string body, std::string_view content_type) {
  Response res{status, 11};
  res.set(beast_http::field::content_type, content_type);
  res.set(beast_http::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response error_response(Status status, std::string_view code, std::string_view message) {
  boost::json::object o;
  o["error"] = code;
  o["message"] = message;
  return make_response(status, boost::json::serialize(o));
}

std::string_view target_path(std::string_view target) {
  // Absolute form (RFC 9112 §3.2.2), "http://host/path?q": the path is what routes.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() &&
        std::equal(scheme.begin(), scheme.end(), target.begin(),
                   [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
      const auto slash = target.find_first_of("/?", scheme.size());
      target = slash == std::string_view::npos || target[slash] == '?' ? std::string_view("/") : target.substr(slash);
      break;
    }
  }
  return target.substr(0, target.find('?'));
}

std::string framing_error(const Request& req) {
  if (req.version() >= 11 && req.find(beast_http::field::host) == req.end()) {
    return "HTTP/1.1 requests need a Host header";
  }
  if (req.count(beast_http::field::host) > 1) return "more than one Host header";
  if (auto te = req.find(beast_http::field::transfer_encoding); te != req.end()) {
    if (req.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
    std::string v(te->value());
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    v.erase(0, v.find_first_not_of(" \t"));
    v.erase(v.find_last_not_of(" \t") + 1);
    if (v != "chunked") {
      return "Transfer-Encoding '" + std::string(te->value()) + "' is not supported; only 'chunked' is";
    }
    if (req.find(beast_http::field::content_length) != req.end()) {
      return "both Transfer-Encoding and Content-Length were sent";
    }
  }
  return {};
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_form(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!s.empty()) {
    const auto amp = s.find('&');
    const std::string_view pair = s.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      out.emplace_back(percent_decode(pair.substr(0, eq), true),
                       eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos) break;
    s.remove_prefix(amp + 1);
  }
  return out;
}

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  for (auto& [k, v] : parse_form(target.substr(q + 1))) {
    if (k == name) return std::move(v);
  }
  return std::nullopt;
}

}  // namespace ioc::http
