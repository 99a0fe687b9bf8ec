#pragma once
/// Validation of POST /api/v1/reports bodies: JSON text → ioc::Report, or
/// every problem found, each naming the field and the reason. Pure: the
/// registry and `now` are passed in. Thread-safe.

#include <boost/json/object.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ioc/core/clock.hpp"
#include "ioc/core/model.hpp"
#include "ioc/core/text.hpp"
#include "ioc/core/registry.hpp"

namespace ioc::intake {

struct ReportLimits {
  std::size_t max_description_chars = 4000;
  std::size_t max_reporter_id_chars = 128;
  std::size_t max_address_chars = 512;
  std::size_t max_media_urls = 10;
  std::size_t max_url_chars = 2048;
  /// Reporters' phones have wrong clocks; beyond this, a future time is an error.
  std::chrono::milliseconds max_future_skew{std::chrono::minutes(5)};
  /// Reports of events older than this are rejected (30 days by default).
  std::chrono::milliseconds max_age{std::chrono::hours(24 * 30)};
};

struct FieldError {
  std::string field;   // JSON path, e.g. "location.lat"; "" for the whole body
  std::string reason;  // human-readable, says what is allowed
  friend bool operator==(const FieldError&, const FieldError&) = default;
};

/// A 422 lists at most this many field errors (the message gives the total);
/// what it echoes of the input is bounded (ioc::echo, kMaxEchoBytes).
inline constexpr std::size_t kMaxListedErrors = 20;

/// Why a body was refused: `status` 400 for unparseable JSON, 422 for a
/// well-formed body with invalid fields.
struct Rejection {
  unsigned status = 422;
  std::string code;  // "invalid_json" | "validation_failed"
  std::string message;
  std::vector<FieldError> errors;
};

/// Parses and validates `body`. On success the Report has category,
/// district, description, location, occurred_at, reporter_id, media_urls,
/// address and, when the client chose it, id (a UUID) set; received_at and
/// source are the caller's to fill, and id when the client left it out.
std::variant<Report, Rejection> parse_report(std::string_view body, const Registry& registry, TimePoint now,
                                             const ReportLimits& limits);
/// The same for an already parsed JSON object (Open311 requests are mapped
/// to one).
std::variant<Report, Rejection> validate_report(const boost::json::object& o, const Registry& registry,
                                                TimePoint now, const ReportLimits& limits);

/// True for a UUID in its 8-4-4-4-12 hex form.
bool is_uuid(std::string_view s);

/// The JSON body for a Rejection.
std::string to_json(const Rejection& r);

}  // namespace ioc::intake
