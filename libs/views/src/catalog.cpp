#include "ioc/views/catalog.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "ioc/config/source.hpp"
#include "ioc/core/bytes.hpp"
#include "ioc/core/config_error.hpp"
#include "ioc/core/hash.hpp"

namespace ioc::views {

namespace {

template <typename Range>
std::string join(const Range& v) {
  std::string out;
  for (const auto& s : v) (out += out.empty() ? "" : ", ") += s;
  return out;
}

constexpr FieldId kDistrictField = 0;  // streams.hpp: district comes first

/// Throws ConfigError at `node`'s line.
class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& what) const {
    std::string where = file_;
    if (node.IsDefined() && node.Mark().line >= 0) where += ":" + std::to_string(node.Mark().line + 1);
    throw ConfigError(where, key, what);
  }

  std::string scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "must be a single value");
    return n.Scalar();
  }

  std::chrono::milliseconds duration(const YAML::Node& n, const std::string& key, bool positive) const {
    const std::string s = scalar(n, key);
    auto d = config::Source::parse_duration(s);
    if (!d || d->count() < 0 || (positive && d->count() == 0) || d->count() > window::kMaxDurationMs) {
      fail(n, key, std::string("must be a duration such as 30s, 5m, 1h or 1d") + (positive ? " greater than 0" : "") +
                       ", got '" + s + "'");
    }
    return *d;
  }

  std::int64_t integer(const YAML::Node& n, const std::string& key, std::int64_t lo, std::int64_t hi) const {
    const std::string s = scalar(n, key);
    try {
      std::size_t used = 0;
      const long long v = std::stoll(s, &used);
      if (used == s.size() && v >= lo && v <= hi) return v;
    } catch (const std::exception&) {
    }
    fail(n, key, "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got '" + s + "'");
  }

  void only_keys(const YAML::Node& map, const std::string& key, const std::set<std::string>& allowed) const {
    if (!map.IsMap()) fail(map, key, "must be a mapping");
    for (const auto& kv : map) {
      const std::string k = kv.first.Scalar();
      if (!allowed.contains(k)) {
        fail(kv.first, key + "." + k, "unknown key; allowed: " + join(allowed));
      }
    }
  }

  Stream stream(const YAML::Node& n, const std::string& key, const std::string& name) const {
    std::optional<Stream> found;
    std::vector<std::string_view> allowed;
    for_each_stream([&](auto s) {
      using S = decltype(s);
      if (name == S::kName) found = S::kStream;
      allowed.push_back(S::kName);
    });
    if (!found) fail(n, key, "must be one of " + join(allowed) + ", got '" + name + "'");
    return *found;
  }

  FieldId field(const YAML::Node& n, const std::string& key, Stream stream, std::optional<bool> numeric) const {
    const std::string name = scalar(n, key);
    std::vector<std::string> allowed;
    const auto fields = fields_of(stream);
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const FieldInfo& f = fields[i];
      if (numeric && f.numeric != *numeric) continue;
      if (name == f.name) return static_cast<FieldId>(i);
      allowed.emplace_back(f.name);
    }
    fail(n, key,
         "'" + name + "' is not a " + (numeric ? (*numeric ? "numeric " : "text ") : "") + "field of " +
             std::string(to_string(stream)) + "; allowed: " + join(allowed));
  }

  Match match(const YAML::Node& n, const YAML::Node& fieldnode, const std::string& key, Stream stream) const {
    Match m;
    m.field = field(fieldnode, key, stream, false);
    auto add = [&](const YAML::Node& v) {
      const std::string s = scalar(v, key);
      const FieldInfo& f = fields_of(stream)[m.field];
      if (!f.values.empty() && std::find(f.values.begin(), f.values.end(), s) == f.values.end()) {
        fail(v, key, "'" + s + "' is not a value of " + std::string(f.name) + "; allowed: " + join(f.values));
      }
      m.values.push_back(s);
    };
    if (n.IsSequence()) {
      if (n.size() == 0) fail(n, key, "must list at least one value");
      for (const auto& v : n) add(v);
    } else {
      add(n);
    }
    return m;
  }

  window::WindowSpec window(const YAML::Node& n, const std::string& key) const {
    only_keys(n, key, {"tumbling", "hopping", "advance", "sliding", "session"});
    Result<window::WindowSpec> w = Error{ErrorCode::kInvalidArgument, ""};
    int kinds = 0;
    if (n["tumbling"]) ++kinds, w = window::WindowSpec::tumbling(duration(n["tumbling"], key + ".tumbling", true));
    if (n["sliding"]) ++kinds, w = window::WindowSpec::sliding(duration(n["sliding"], key + ".sliding", true));
    if (n["session"]) ++kinds, w = window::WindowSpec::session(duration(n["session"], key + ".session", true));
    if (n["hopping"]) {
      ++kinds;
      if (!n["advance"]) fail(n, key + ".advance", "a hopping window needs an advance, e.g. {hopping: 15m, advance: 1m}");
      w = window::WindowSpec::hopping(duration(n["hopping"], key + ".hopping", true),
                                      duration(n["advance"], key + ".advance", true));
    } else if (n["advance"]) {
      fail(n["advance"], key + ".advance", "only a hopping window has an advance");
    }
    if (kinds != 1) {
      fail(n, key, "must be exactly one of {tumbling: D}, {hopping: D, advance: D}, {sliding: D}, {session: gap}");
    }
    if (!w.ok()) fail(n, key, w.error().message);
    return *w;
  }

  window::EmitPolicy emit(const YAML::Node& n, const std::string& key) const {
    window::EmitPolicy p;
    // Node assignment rebinds the underlying YAML: initialize, never assign.
    const YAML::Node mode = n.IsMap() ? n["mode"] : n;
    if (n.IsMap()) {
      only_keys(n, key, {"mode", "interval"});
      if (!mode) fail(n, key + ".mode", "missing; one of final, updates, both");
      if (n["interval"]) p.min_interval = duration(n["interval"], key + ".interval", true);
    }
    const std::string m = scalar(mode, key + ".mode");
    if (m == "final") {
      p.mode = window::EmitMode::kFinalOnly;
    } else if (m == "updates") {
      p.mode = window::EmitMode::kOnUpdate;
    } else if (m == "both") {
      p.mode = window::EmitMode::kBoth;
    } else {
      fail(mode, key + ".mode", "must be final, updates or both, got '" + m + "'");
    }
    return p;
  }

  void aggregations(const YAML::Node& list, const std::string& key, ViewConfig& v) const {
    if (!list.IsSequence() || list.size() == 0) fail(list, key, "must be a non-empty list, e.g. [count]");
    std::set<std::string> names;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const YAML::Node a = list[i];
      const std::string k = key + "[" + std::to_string(i) + "]";
      window::AggregationSpec spec;
      if (a.IsScalar()) {
        if (a.Scalar() != "count") fail(a, k, "a bare aggregation can only be count; others are maps, e.g. {name: online, count_where: {channel: online}}");
        spec = window::AggregationSpec::count("count");
      } else {
        only_keys(a, k, {"name", "count", "count_where", "sum", "min", "max", "mean", "last", "distinct", "quantiles", "of"});
        std::vector<std::string> kinds;
        for (const char* kind : {"count", "count_where", "sum", "min", "max", "mean", "last", "distinct", "quantiles"}) {
          if (a[kind]) kinds.emplace_back(kind);
        }
        if (kinds.size() != 1) {
          fail(a, k, "must have exactly one of count, count_where, sum, min, max, mean, last, distinct, quantiles");
        }
        const std::string& kind = kinds[0];
        const std::string name = a["name"] ? scalar(a["name"], k + ".name") : kind;
        const YAML::Node arg = a[kind];
        const std::string ak = k + "." + kind;
        if (a["of"] && kind != "quantiles") fail(a["of"], k + ".of", "only quantiles take 'of'; write {" + kind + ": <field>}");
        auto value_field = [&](const YAML::Node& n, const std::string& fk) {
          const FieldId f = field(n, fk, v.stream, true);
          if (v.value_field && *v.value_field != f) {
            fail(n, fk, "a view aggregates one numeric field; this view already reads " +
                            std::string(field_name(v.stream, *v.value_field)) + " (make a second view for " +
                            std::string(field_name(v.stream, f)) + ")");
          }
          v.value_field = f;
        };
        if (kind == "count") {
          spec = window::AggregationSpec::count(name);
        } else if (kind == "count_where") {
          if (!arg.IsMap() || arg.size() != 1) fail(arg, ak, "must be one {field: value} (or {field: [values]})");
          if (v.count_where.size() >= static_cast<std::size_t>(window::kEventFields)) {
            fail(arg, ak, "a view has at most " + std::to_string(window::kEventFields) + " count_where aggregations");
          }
          const auto kv = *arg.begin();
          v.count_where.push_back(match(kv.second, kv.first, ak, v.stream));
          spec = window::AggregationSpec::count_where(name, static_cast<int>(v.count_where.size() - 1), 1);
        } else if (kind == "distinct") {
          const FieldId f = field(arg, ak, v.stream, false);
          if (v.distinct_field && *v.distinct_field != f) fail(arg, ak, "a view counts distinct values of one field");
          v.distinct_field = f;
          spec = window::AggregationSpec::distinct(name);
        } else if (kind == "quantiles") {
          if (!a["of"]) fail(a, k + ".of", "quantiles need the field they are of, e.g. {quantiles: [0.5, 0.95], of: processing_ms}");
          value_field(a["of"], k + ".of");
          if (!arg.IsSequence() || arg.size() == 0) fail(arg, ak, "must be a list of quantiles in [0, 1], e.g. [0.5, 0.95]");
          std::vector<double> qs;
          for (const auto& q : arg) {
            try {
              qs.push_back(q.as<double>());
            } catch (const YAML::Exception&) {
              fail(q, ak, "must be numbers in [0, 1], got '" + (q.IsScalar() ? q.Scalar() : std::string("?")) + "'");
            }
          }
          spec = window::AggregationSpec::quantile(name, qs);
        } else {
          value_field(arg, ak);
          if (kind == "sum") spec = window::AggregationSpec::sum(name);
          if (kind == "min") spec = window::AggregationSpec::min(name);
          if (kind == "max") spec = window::AggregationSpec::max(name);
          if (kind == "mean") spec = window::AggregationSpec::mean(name);
          if (kind == "last") spec = window::AggregationSpec::last(name);
        }
      }
      if (!names.insert(spec.name).second) fail(a, k, "the name '" + spec.name + "' is used twice in this view");
      v.spec.aggregations.push_back(std::move(spec));
    }
  }

  std::size_t value_index(const ViewConfig& v, const YAML::Node& n, const std::string& key, bool with_ratios) const {
    const std::string name = scalar(n, key);
    const std::size_t limit = with_ratios ? v.value_names.size() : window::value_names(v.spec).size();
    for (std::size_t i = 0; i < limit; ++i) {
      if (v.value_names[i] == name) return i;
    }
    fail(n, key, "'" + name + "' is not a value of this view; values: " +
                     join(std::span(v.value_names).first(limit)));
  }

  ViewConfig view(const std::string& name, const YAML::Node& n, const YAML::Node& defaults) const {
    const std::string key = "views." + name;
    only_keys(n, key, {"source", "filter", "group_by", "time", "window", "allowed_lateness", "out_of_orderness",
                       "idle_timeout", "emit", "aggregations", "ratios", "gauges", "sample_ids"});
    ViewConfig v;
    v.spec.name = name;
    v.line = n.Mark().is_null() ? 0 : n.Mark().line + 1;
    auto setting = [&](const char* k) { return n[k] ? n[k] : defaults[k]; };
    auto required = [&](const char* k, const char* example) {
      if (!n[k]) fail(n, key + "." + k, std::string("missing; e.g. ") + example);
      return n[k];
    };

    const std::string source = scalar(required("source", "source: reports"), key + ".source");
    v.stream = stream(n["source"], key + ".source", source);

    if (const YAML::Node f = n["filter"]) {
      if (!f.IsMap() || f.size() == 0) fail(f, key + ".filter", "must be a mapping {field: value or [values]}");
      for (const auto& kv : f) v.filter.push_back(match(kv.second, kv.first, key + ".filter." + kv.first.Scalar(), v.stream));
    }

    const YAML::Node g = required("group_by", "group_by: [district]");
    if (!g.IsSequence() || g.size() == 0 || g.size() > kMaxGroupBy) {
      fail(g, key + ".group_by", "must list 1 to " + std::to_string(kMaxGroupBy) + " fields");
    }
    for (const auto& f : g) {
      const FieldId field_id = field(f, key + ".group_by", v.stream, false);
      if (std::find(v.group_by.begin(), v.group_by.end(), field_id) != v.group_by.end()) {
        fail(f, key + ".group_by", "lists " + std::string(field_name(v.stream, field_id)) + " twice");
      }
      v.group_by.push_back(field_id);
      v.group_names.emplace_back(field_name(v.stream, field_id));
    }
    if (std::find(v.group_by.begin(), v.group_by.end(), kDistrictField) == v.group_by.end()) {
      // Input topics are keyed by district: a group spread over partitions
      // would be counted in pieces by different replicas.
      fail(g, key + ".group_by", "must include district (input topics are partitioned by district)");
    }

    if (const YAML::Node t = n["time"]) {
      const std::string s = scalar(t, key + ".time");
      if (s == "occurred_at") {
        v.time = TimeAttribute::kOccurredAt;
      } else if (s == "received_at") {
        v.time = TimeAttribute::kReceivedAt;
      } else if (s == "ingest") {
        v.time = TimeAttribute::kIngest;
      } else {
        fail(t, key + ".time", "must be occurred_at (event time), received_at or ingest (the Kafka timestamp), got '" + s + "'");
      }
    }

    v.spec.window = window(required("window", "window: {tumbling: 1m}"), key + ".window");
    if (auto x = setting("allowed_lateness")) v.spec.allowed_lateness = duration(x, key + ".allowed_lateness", false);
    if (auto x = setting("out_of_orderness")) v.spec.out_of_orderness = duration(x, key + ".out_of_orderness", false);
    if (auto x = setting("idle_timeout")) v.spec.idle_timeout = duration(x, key + ".idle_timeout", false);
    if (auto x = setting("emit")) v.spec.emit = emit(x, key + ".emit");
    v.spec.sample_refs = 5;
    if (auto x = setting("sample_ids")) {
      v.spec.sample_refs = static_cast<std::uint32_t>(integer(x, key + ".sample_ids", 0, window::kMaxSampleRefs));
    }
    v.spec.keep_last_final = true;

    aggregations(required("aggregations", "aggregations: [count]"), key + ".aggregations", v);
    v.value_names = window::value_names(v.spec);

    if (const YAML::Node r = n["ratios"]) {
      if (!r.IsMap()) fail(r, key + ".ratios", "must be a mapping {name: [numerator, denominator]}");
      for (const auto& kv : r) {
        const std::string rk = key + ".ratios." + kv.first.Scalar();
        const YAML::Node pair = kv.second;
        if (!pair.IsSequence() || pair.size() != 2) fail(pair, rk, "must be [numerator, denominator] (denominator: a value or a list of values summed)");
        Ratio ratio{kv.first.Scalar(), value_index(v, pair[0], rk, false), {}};
        if (pair[1].IsSequence()) {
          for (const auto& d : pair[1]) ratio.denominator.push_back(value_index(v, d, rk, false));
        } else {
          ratio.denominator.push_back(value_index(v, pair[1], rk, false));
        }
        if (std::find(v.value_names.begin(), v.value_names.end(), ratio.name) != v.value_names.end()) {
          fail(kv.first, rk, "the name '" + ratio.name + "' is already a value of this view");
        }
        v.value_names.push_back(ratio.name);
        v.ratios.push_back(std::move(ratio));
      }
    }

    if (const YAML::Node gg = n["gauges"]) {
      only_keys(gg, key + ".gauges", {"values", "max_series"});
      const YAML::Node vals = gg["values"];
      if (!vals || !vals.IsSequence() || vals.size() == 0) fail(gg, key + ".gauges.values", "must list the values to export");
      for (const auto& x : vals) v.gauge_values.push_back(value_index(v, x, key + ".gauges.values", true));
      if (!gg["max_series"]) fail(gg, key + ".gauges.max_series", "missing: bound the label cardinality, e.g. max_series: 1000");
      v.max_series = static_cast<std::size_t>(integer(gg["max_series"], key + ".gauges.max_series", 1, 1'000'000));
    }

    if (Status s = window::validate(v.spec); !s.ok()) fail(n, key, s.error().message);
    v.spec.input = input_fingerprint(v);
    return v;
  }

  /// Everything that decides which events a view gets (see ViewSpec::input).
  static std::uint64_t input_fingerprint(const ViewConfig& v) {
    std::string bytes;
    ByteWriter<std::string> w(bytes);
    auto name = [&](FieldId f) { return std::string(field_name(v.stream, f)); };
    auto matches = [&](const std::vector<Match>& ms) {
      w.u32(static_cast<std::uint32_t>(ms.size()));
      for (const Match& m : ms) {
        w.str(name(m.field));
        w.u32(static_cast<std::uint32_t>(m.values.size()));
        for (const auto& x : m.values) w.str(x);
      }
    };
    w.u8(static_cast<std::uint8_t>(v.stream));
    w.u8(static_cast<std::uint8_t>(v.time));
    matches(v.filter);
    for (const FieldId f : v.group_by) w.str(name(f));
    w.str(v.value_field ? name(*v.value_field) : "");
    w.str(v.distinct_field ? name(*v.distinct_field) : "");
    matches(v.count_where);
    return fnv1a(bytes);
  }

  std::vector<ViewConfig> file(const YAML::Node& root) const {
    if (!root.IsMap()) fail(root, "views", "the file must be a mapping with 'views' (and optional 'defaults')");
    only_keys(root, "(top level)", {"defaults", "views"});
    const YAML::Node defaults = root["defaults"] ? root["defaults"] : YAML::Node(YAML::NodeType::Map);
    only_keys(defaults, "defaults", {"allowed_lateness", "out_of_orderness", "idle_timeout", "emit", "sample_ids"});
    const YAML::Node views = root["views"];
    if (!views || !views.IsMap() || views.size() == 0) fail(root, "views", "must be a mapping of view names to views");
    std::vector<ViewConfig> out;
    for (const auto& kv : views) {
      const std::string name = kv.first.Scalar();
      const bool ok_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      });
      if (!ok_name) fail(kv.first, "views." + name, "view names use a-z, 0-9 and _ only");
      out.push_back(view(name, kv.second, defaults));
    }
    return out;
  }

 private:
  std::string file_;
};

}  // namespace

bool ViewConfig::has_value(std::string_view value) const {
  return std::find(value_names.begin(), value_names.end(), value) != value_names.end();
}

bool ViewConfig::is_ratio(std::string_view value) const {
  return std::any_of(ratios.begin(), ratios.end(), [&](const Ratio& r) { return r.name == value; });
}

bool ViewConfig::has_label(std::string_view label) const {
  return std::find(group_names.begin(), group_names.end(), label) != group_names.end();
}

bool ViewConfig::aligned() const {
  return spec.window.kind == window::WindowKind::kTumbling || spec.window.kind == window::WindowKind::kHopping;
}

std::string ViewConfig::values_text() const { return join(value_names); }

Catalog Catalog::parse(std::string_view yaml, const std::string& source) {
  Parser p(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ":" + std::to_string(e.mark.line + 1), "views", "invalid YAML: " + e.msg);
  }
  return Catalog(p.file(root), source);
}

Catalog Catalog::load(const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, key, "cannot read the views file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

const ViewConfig* Catalog::find(std::string_view name) const {
  for (const ViewConfig& v : views_) {
    if (v.spec.name == name) return &v;
  }
  return nullptr;
}

std::string Catalog::names() const {
  std::string out;
  for (const ViewConfig& v : views_) (out += out.empty() ? "" : ", ") += v.spec.name;
  return out;
}

void require(const Catalog& catalog, const std::vector<Need>& needs) {
  for (const Need& need : needs) {
    const ViewConfig* v = catalog.find(need.view);
    if (v == nullptr) {
      throw ConfigError(catalog.source(), need.setting,
                        "view '" + need.view + "' is not in the views file (it has: " + catalog.names() + ")");
    }
    for (const std::string& value : need.values) {
      if (!v->has_value(value)) {
        throw ConfigError(catalog.source(), need.setting,
                          "view '" + need.view + "' has no value '" + value + "' (its values: " + v->values_text() + ")");
      }
    }
    for (const std::string& label : need.labels) {
      if (!v->has_label(label)) {
        throw ConfigError(catalog.source(), need.setting,
                          "view '" + need.view + "' is not grouped by '" + label + "' (its labels: " +
                              join(v->group_names) + ")");
      }
    }
  }
}

}  // namespace ioc::views
