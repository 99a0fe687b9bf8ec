#pragma once
// UTF-8 text that comes from outside: checking it, and echoing it back in
// an error message or a log line bounded and well-formed, whatever it was.

#include <cstddef>
#include <string>
#include <string_view>

namespace ioc {

/// Input echoed in errors is cut to this many bytes.
inline constexpr std::size_t kMaxEchoBytes = 64;

/// Length of the well-formed UTF-8 sequence at s[i] (i < s.size()), or 0
/// (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i);

/// Whether `s` is well-formed UTF-8.
bool valid_utf8(std::string_view s);

/// `s` as it may be shown back: at most `max_bytes` bytes of it (then
/// "..."), never splitting a character, each malformed byte as U+FFFD.
std::string echo(std::string_view s, std::size_t max_bytes = kMaxEchoBytes);

/// Appends `s` as XML (and HTML) character data or attribute text: the five
/// markup characters escaped, and the control characters XML 1.0 has no
/// place for (all below U+0020 but tab, line feed and carriage return) as
/// spaces.
void append_markup_escaped(std::string& out, std::string_view s);

}  // namespace ioc
