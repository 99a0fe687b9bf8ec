#include "ioc/core/time_format.hpp"

#include <array>
#include <chrono>
#include <cstdio>

namespace ioc {
namespace {

// Reads exactly `n` digits at `pos`; returns -1 when they are not all digits.
int read_digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

Result<TimePoint> parse_rfc3339(std::string_view s) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS
  if (s.size() < 20) return invalid_argument("not an RFC 3339 date-time (e.g. 2024-07-01T08:30:00Z)");
  const int year = read_digits(s, 0, 4);
  const int month = read_digits(s, 5, 2);
  const int day = read_digits(s, 8, 2);
  const int hour = read_digits(s, 11, 2);
  const int minute = read_digits(s, 14, 2);
  const int second = read_digits(s, 17, 2);
  if (year < 0 || month < 0 || day < 0 || s[4] != '-' || s[7] != '-') {
    return invalid_argument("date part must be YYYY-MM-DD");
  }
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return invalid_argument("date and time must be separated by 'T'");
  if (hour < 0 || minute < 0 || second < 0 || s[13] != ':' || s[16] != ':') {
    return invalid_argument("time part must be hh:mm:ss");
  }
  const year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                           std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return invalid_argument("no such calendar date");
  if (hour > 23 || minute > 59 || second > 60) return invalid_argument("time of day out of range");

  std::size_t pos = 19;
  int millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    int scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return invalid_argument("fraction of a second needs at least one digit");
  }
  if (pos >= s.size()) return invalid_argument("missing time zone offset ('Z' or +hh:mm)");
  int offset_minutes = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int oh = read_digits(s, pos + 1, 2);
    const int om = read_digits(s, pos + 4, 2);
    if (oh < 0 || om < 0 || pos + 3 >= s.size() || s[pos + 3] != ':' || oh > 23 || om > 59) {
      return invalid_argument("time zone offset must be 'Z' or ±hh:mm");
    }
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return invalid_argument("time zone offset must be 'Z' or ±hh:mm");
  }
  if (pos != s.size()) return invalid_argument("unexpected characters after the time zone offset");

  const auto t = sys_days{ymd} + hours{hour} + minutes{minute} + seconds{second} + milliseconds{millis} -
                 minutes{offset_minutes};
  if (second == 60) {
    // Leap seconds are inserted at 23:59:60 UTC, at the end of June or
    // December; elsewhere second 60 is a typo, not a time.
    const auto utc_minute = floor<minutes>(t - seconds{60});
    const auto utc_day = floor<days>(utc_minute);
    const year_month_day d{utc_day};
    const bool month_end = (d.month() == June && d.day() == std::chrono::day{30}) ||
                           (d.month() == December && d.day() == std::chrono::day{31});
    if (!month_end || utc_minute - utc_day != hours{23} + minutes{59}) {
      return invalid_argument("second 60 exists only as a leap second, at 23:59:60 UTC on 30 June or 31 December");
    }
  }
  return time_point_cast<milliseconds>(t);
}

std::string format_rfc3339(TimePoint t) {
  using namespace std::chrono;
  const auto days = floor<std::chrono::days>(t);
  const year_month_day ymd{days};
  const hh_mm_ss<milliseconds> tod{t - days};
  std::array<char, 40> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                static_cast<int>(tod.seconds().count()), static_cast<int>(tod.subseconds().count()));
  return buf.data();
}

}  // namespace ioc
