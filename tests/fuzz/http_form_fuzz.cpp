// libFuzzer target: the URL and form helpers of ioc::http (percent_decode,
// parse_form, query_param, target_path) on arbitrary text. Besides crashes
// and undefined behaviour, it checks what callers rely on:
//  - decoding never grows its input, and undoes a full %XX encoding;
//  - parse_form yields at most one pair per '&'-separated part, and
//    re-encoding its pairs and parsing again gives the same pairs;
//  - query_param agrees with parse_form on the query string;
//  - target_path is a '?'-free part of the target (or "/").
// A violated property aborts, so libFuzzer keeps the input.
//
// Input: "<name>\n<text>" fuzzes query_param(text, name); without a newline
// the whole input is the text and the name is "q".
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "ioc/http/types.hpp"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "http_form_fuzz: property violated: %s\n", what);
    std::abort();
  }
}

// Every byte escaped, so decoding must give `s` back exactly.
std::string encode_all(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    out += '%';
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

bool is_part_of(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_decode(std::string_view s) {
  for (const bool plus : {false, true}) {
    const std::string d = ioc::http::percent_decode(s, plus);
    check(d.size() <= s.size(), "percent_decode output longer than input");
    if (s.find('%') == std::string_view::npos) {
      std::string expected(s);
      if (plus) std::replace(expected.begin(), expected.end(), '+', ' ');
      check(d == expected, "percent_decode changed text without escapes");
    }
    check(ioc::http::percent_decode(encode_all(s), plus) == s, "percent_decode does not undo %XX encoding");
  }
}

void check_form(std::string_view s) {
  const auto pairs = ioc::http::parse_form(s);
  const auto parts = static_cast<std::size_t>(std::count(s.begin(), s.end(), '&')) + 1;
  check(pairs.size() <= parts, "parse_form gave more pairs than '&'-separated parts");
  std::string again;
  for (const auto& [k, v] : pairs) {
    check(k.size() + v.size() <= s.size(), "parse_form pair longer than its input");
    if (!again.empty()) again += '&';
    again += encode_all(k) + '=' + encode_all(v);
  }
  check(ioc::http::parse_form(again) == pairs, "parse_form of re-encoded pairs differs");
}

void check_query(std::string_view target, std::string_view name) {
  const std::optional<std::string> v = ioc::http::query_param(target, name);
  const auto q = target.find('?');
  if (q == std::string_view::npos) {
    check(!v.has_value(), "query_param found a value in a target without '?'");
    return;
  }
  std::optional<std::string> expected;
  for (auto& [k, val] : ioc::http::parse_form(target.substr(q + 1))) {
    if (k == name) {
      expected = std::move(val);
      break;
    }
  }
  check(v == expected, "query_param disagrees with parse_form");
}

void check_path(std::string_view target) {
  const std::string_view p = ioc::http::target_path(target);
  check(p.find('?') == std::string_view::npos, "target_path kept a query");
  check(p == "/" || is_part_of(p, target), "target_path is not part of the target");
  check(p.size() <= std::max<std::size_t>(target.size(), 1), "target_path longer than the target");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view name = "q";
  std::string_view text = in;
  if (const auto nl = in.find('\n'); nl != std::string_view::npos) {
    name = in.substr(0, nl);
    text = in.substr(nl + 1);
  }
  check_decode(text);
  check_form(text);
  check_query(text, name);
  check_path(text);
  return 0;
}
