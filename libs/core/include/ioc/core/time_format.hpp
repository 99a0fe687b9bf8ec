#pragma once
/// RFC 3339 timestamps ("2024-07-01T08:30:00Z", "2024-07-01T15:30:00.250+07:00")
/// to and from TimePoint. Pure functions; thread-safe.

#include <string>
#include <string_view>

#include "ioc/core/clock.hpp"
#include "ioc/core/result.hpp"

namespace ioc {

/// Parses an RFC 3339 date-time with a mandatory offset ("Z" or ±hh:mm) and an
/// optional fraction (truncated to milliseconds). The error message says which
/// part is wrong.
[[nodiscard]] Result<TimePoint> parse_rfc3339(std::string_view text);

/// Formats as UTC with millisecond precision: "2024-07-01T08:30:00.250Z".
std::string format_rfc3339(TimePoint t);

}  // namespace ioc
