#include "duplicate_keys.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <vector>

namespace ioc::intake {

namespace {

namespace json = boost::json;
using ec_t = boost::system::error_code;

/// A basic_parser handler that keeps, per open object, the keys seen, and
/// stops at the first repeated one.
struct KeyChecker {
  static constexpr std::size_t max_object_size = std::size_t(-1);  // NOLINT(readability-identifier-naming): the handler interface of Boost.JSON
  static constexpr std::size_t max_array_size = std::size_t(-1);  // NOLINT(readability-identifier-naming): the handler interface of Boost.JSON
  static constexpr std::size_t max_key_size = std::size_t(-1);  // NOLINT(readability-identifier-naming): the handler interface of Boost.JSON
  static constexpr std::size_t max_string_size = std::size_t(-1);  // NOLINT(readability-identifier-naming): the handler interface of Boost.JSON

  struct Level {
    bool object = false;
    std::vector<std::string> keys;  // objects: the keys so far; the last is the current one
    std::size_t index = 0;          // arrays: the current element
  };
  std::vector<Level> stack;
  std::string key;  // the key being read (parts)
  std::optional<std::string> duplicate;

  std::string path() const {
    std::string p;
    for (const Level& l : stack) {
      if (l.object) {
        if (l.keys.empty()) break;
        p += (p.empty() ? "" : ".") + l.keys.back();
      } else {
        p += "[" + std::to_string(l.index) + "]";
      }
    }
    return p;
  }
  // A value ends: the array it is in moves on.
  bool value() {
    if (!stack.empty() && !stack.back().object) ++stack.back().index;
    return true;
  }

  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_array_begin(ec_t&) {
    stack.push_back({false, {}, 0});
    return true;
  }
  bool on_array_end(std::size_t, ec_t&) {
    stack.pop_back();
    return value();
  }
  bool on_object_begin(ec_t&) {
    stack.push_back({true, {}, 0});
    return true;
  }
  bool on_object_end(std::size_t, ec_t&) {
    stack.pop_back();
    return value();
  }
  bool on_string_part(json::string_view, std::size_t, ec_t&) { return true; }
  bool on_string(json::string_view, std::size_t, ec_t&) { return value(); }
  bool on_key_part(json::string_view s, std::size_t, ec_t&) {
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, ec_t& ec) {
    key.append(s.data(), s.size());
    std::vector<std::string>& keys = stack.back().keys;
    const bool twice = std::find(keys.begin(), keys.end(), key) != keys.end();
    keys.push_back(std::move(key));
    key.clear();
    if (twice) {
      duplicate = path();
      ec = json::error::extra_data;  // any error: it stops the parser
      return false;
    }
    return true;
  }
  bool on_number_part(json::string_view, ec_t&) { return true; }
  bool on_int64(std::int64_t, json::string_view, ec_t&) { return value(); }
  bool on_uint64(std::uint64_t, json::string_view, ec_t&) { return value(); }
  bool on_double(double, json::string_view, ec_t&) { return value(); }
  bool on_bool(bool, ec_t&) { return value(); }
  bool on_null(ec_t&) { return value(); }
  bool on_comment_part(json::string_view, ec_t&) { return true; }
  bool on_comment(json::string_view, ec_t&) { return true; }
};

}  // namespace

std::optional<std::string> first_duplicate_key(std::string_view text) {
  json::basic_parser<KeyChecker> parser(json::parse_options{});
  ec_t ec;
  parser.write_some(false, text.data(), text.size(), ec);
  return std::move(parser.handler().duplicate);
}

}  // namespace ioc::intake
