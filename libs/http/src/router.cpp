#include "ioc/http/server.hpp"

namespace ioc::http {

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const std::size_t j = path.find('/', i);
    out.emplace_back(path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j;
  }
  return out;
}

// A client's request id is echoed only when it is a short, plain token.
}  // namespace

// ---------------------------------------------------------------- Router

void Router::add(Verb method, std::string pattern, std::string route, Handler handler) {
  routes_.push_back({method, split_path(pattern), std::move(route), std::move(handler)});
}

Router::Match Router::match(Verb method, std::string_view path) const {
  const std::vector<std::string> segs = split_path(path);
  Match m;
  for (const Route& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    Params params;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      const std::string& p = r.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (segs[i].empty()) ok = false;
        params.emplace_back(p.substr(1, p.size() - 2), segs[i]);
      } else {
        ok = p == segs[i];
      }
    }
    if (!ok) continue;
    if (r.method == method || (method == Verb::head && r.method == Verb::get)) {
      m.handler = &r.handler;
      m.route = &r.name;
      m.params = std::move(params);
      return m;
    }
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += std::string(beast_http::to_string(r.method));
  }
  return m;
}

}  // namespace ioc::http
