#pragma once
/// JSON names a key may give once per object (RFC 8259 §4: "SHOULD be
/// unique"); Boost.JSON keeps the last of a repeated key, so a body with
/// "category" twice would be stored with the second. Request bodies are
/// checked for that first: a repeated key is a client error, never a
/// silent choice.

#include <optional>
#include <string>
#include <string_view>

namespace ioc::intake {

/// The path of the first key that `json` gives twice in one object (e.g.
/// "category", "location.lat", "media_urls[1].url"), after JSON escapes are
/// decoded; nothing when every key is unique or the text is not JSON (the
/// parser that reads it reports that).
std::optional<std::string> first_duplicate_key(std::string_view json);

}  // namespace ioc::intake
