#include "ioc/rules/template.hpp"

#include <cctype>

namespace ioc::rules {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<Template> Template::compile(std::string_view text) {
  Template t;
  t.source_ = std::string(text);
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t open = text.find("{{", i);
    if (open == std::string_view::npos) {
      t.parts_.push_back({false, std::string(text.substr(i))});
      break;
    }
    if (open > i) t.parts_.push_back({false, std::string(text.substr(i, open - i))});
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return invalid_argument("unclosed '{{' at character " + std::to_string(open + 1));
    }
    const std::string_view name = trim(text.substr(open + 2, close - open - 2));
    if (name.empty()) return invalid_argument("empty placeholder '{{}}' at character " + std::to_string(open + 1));
    for (char c : name) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
        return invalid_argument("placeholder '{{" + std::string(name) +
                                "}}' may hold only letters, digits and '_'");
      }
    }
    t.parts_.push_back({true, std::string(name)});
    i = close + 2;
  }
  return t;
}

std::vector<std::string> Template::names() const {
  std::vector<std::string> out;
  for (const Part& p : parts_) {
    if (p.is_name) out.push_back(p.text);
  }
  return out;
}

std::string Template::render(const std::function<std::optional<std::string>(std::string_view)>& lookup) const {
  std::string out;
  out.reserve(source_.size() + 16);
  for (const Part& p : parts_) {
    if (!p.is_name) {
      out += p.text;
    } else if (auto v = lookup(p.text)) {
      out += *v;
    }
  }
  return out;
}

}  // namespace ioc::rules
