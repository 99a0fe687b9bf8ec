#include "ioc/rules/view_catalog.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "ioc/config/source.hpp"

namespace ioc::rules {

namespace {

struct Failure {
  std::string message;
};

[[noreturn]] void fail(const std::string& source, const YAML::Node& n, const std::string& key, const std::string& what) {
  const int line = n.Mark().is_null() ? 0 : n.Mark().line + 1;
  throw Failure{source + (line > 0 ? ":" + std::to_string(line) : "") + ": " + key + ": " + what};
}

Millis duration(const std::string& source, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) fail(source, n, key, "must be a duration like 1m or 15m");
  auto d = config::Source::parse_duration(n.Scalar());
  if (!d || d->count() <= 0) fail(source, n, key, "must be a positive duration like 1m or 15m, got '" + n.Scalar() + "'");
  return *d;
}

ViewInfo parse_view(const std::string& source, const std::string& name, const YAML::Node& v) {
  ViewInfo info;
  info.name = name;
  info.line = v.Mark().is_null() ? 0 : v.Mark().line + 1;
  const std::string k = "views." + name;
  if (!v.IsMap()) fail(source, v, k, "must be a mapping");
  if (const YAML::Node g = v["group_by"]) {
    if (!g.IsSequence()) fail(source, g, k + ".group_by", "must be a list of fields");
    for (const auto& f : g) info.group_by.push_back(f.Scalar());
  }
  const YAML::Node w = v["window"];
  if (!w || !w.IsMap()) fail(source, v, k + ".window", "must be {tumbling: D}, {hopping: D, advance: D}, {sliding: D} or {session: gap}");
  if (w["tumbling"]) {
    info.window = ViewInfo::Window::kTumbling;
    info.size = info.advance = duration(source, w["tumbling"], k + ".window.tumbling");
  } else if (w["hopping"]) {
    info.window = ViewInfo::Window::kHopping;
    info.size = duration(source, w["hopping"], k + ".window.hopping");
    if (!w["advance"]) fail(source, w, k + ".window.advance", "a hopping window needs its advance");
    info.advance = duration(source, w["advance"], k + ".window.advance");
  } else if (w["sliding"]) {
    info.window = ViewInfo::Window::kSliding;
    info.size = duration(source, w["sliding"], k + ".window.sliding");
  } else if (w["session"]) {
    info.window = ViewInfo::Window::kSession;
    info.size = duration(source, w["session"], k + ".window.session");
  } else {
    fail(source, w, k + ".window", "must be {tumbling: D}, {hopping: D, advance: D}, {sliding: D} or {session: gap}");
  }
  info.values.insert("count");
  if (const YAML::Node aggs = v["aggregations"]) {
    if (!aggs.IsSequence()) fail(source, aggs, k + ".aggregations", "must be a list");
    for (const auto& a : aggs) {
      if (a.IsScalar()) {
        info.values.insert(a.Scalar());  // `count`
        continue;
      }
      if (!a.IsMap() || !a["name"]) fail(source, a, k + ".aggregations", "each entry is `count` or a mapping with a name");
      const std::string n = a["name"].Scalar();
      if (const YAML::Node qs = a["quantiles"]) {
        if (!qs.IsSequence()) fail(source, qs, k + ".aggregations." + n + ".quantiles", "must be a list");
        for (const auto& q : qs) {
          double x = 0;
          try {
            x = q.as<double>();
          } catch (const YAML::Exception&) {
            fail(source, q, k + ".aggregations." + n + ".quantiles", "must be numbers in (0, 1)");
          }
          info.values.insert(n + "_" + quantile_suffix(x));
        }
      } else {
        info.values.insert(n);
      }
    }
  }
  if (const YAML::Node ratios = v["ratios"]) {
    if (!ratios.IsMap()) fail(source, ratios, k + ".ratios", "must be a mapping name: [numerator, denominator]");
    for (const auto& r : ratios) {
      const std::string n = r.first.Scalar();
      info.values.insert(n);
      info.ratios.insert(n);
    }
  }
  return info;
}

}  // namespace

std::string quantile_suffix(double q) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", q * 100);
  return std::string("p") + buf;
}

bool ViewInfo::has_label(std::string_view label) const {
  return std::find(group_by.begin(), group_by.end(), label) != group_by.end();
}

ViewCatalog::ViewCatalog(std::vector<ViewInfo> views, std::string source)
    : views_(std::move(views)), source_(std::move(source)) {}

const ViewInfo* ViewCatalog::find(std::string_view name) const {
  for (const ViewInfo& v : views_) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

std::string ViewCatalog::names() const {
  std::string out;
  for (const ViewInfo& v : views_) out += (out.empty() ? "" : ", ") + v.name;
  return out;
}

Result<ViewCatalog> ViewCatalog::parse(std::string_view yaml, const std::string& source) {
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap() || !root["views"] || !root["views"].IsMap()) {
      return invalid_argument(source + ": views: must be a mapping of view names (see deploy/config/views.yaml)");
    }
    std::vector<ViewInfo> views;
    for (const auto& kv : root["views"]) views.push_back(parse_view(source, kv.first.Scalar(), kv.second));
    return ViewCatalog(std::move(views), source);
  } catch (const Failure& f) {
    return invalid_argument(f.message);
  } catch (const YAML::Exception& e) {
    return invalid_argument(source + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
}

Result<ViewCatalog> ViewCatalog::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kNotFound, path + ": cannot open the file"};
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

}  // namespace ioc::rules
