#include "ioc/config/source.hpp"

#include <boost/program_options.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>

#include "ioc/core/config_error.hpp"

namespace ioc::config {
namespace {

std::vector<std::string> split_key(std::string_view key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = key.find('.', start);
    parts.emplace_back(key.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

YAML::Node find_node(const YAML::Node& root, std::string_view key) {
  YAML::Node cur = root;
  for (const std::string& part : split_key(key)) {
    if (!cur || !cur.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& c = cur;
    YAML::Node next = c[part];
    if (!next) return YAML::Node(YAML::NodeType::Undefined);
    cur.reset(next);
  }
  return cur;
}

void collect_leaves(const YAML::Node& node, const std::string& prefix, std::vector<std::string>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      const std::string k = kv.first.as<std::string>();
      collect_leaves(kv.second, prefix.empty() ? k : prefix + "." + k, out);
    }
  } else {
    out.push_back(prefix);
  }
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

Source::Source(std::optional<std::string> file, std::map<std::string, std::string> flags,
               std::map<std::string, std::string> env)
    : file_(std::move(file)), flags_(std::move(flags)), env_(std::move(env)) {
  if (file_) {
    try {
      root_ = YAML::LoadFile(*file_);
    } catch (const YAML::BadFile&) {
      throw ConfigError(*file_, "--config", "cannot open the file");
    } catch (const YAML::Exception& e) {
      throw ConfigError(*file_, "line " + std::to_string(e.mark.line + 1), "invalid YAML: " + e.msg);
    }
    if (root_ && !root_.IsNull() && !root_.IsMap()) {
      throw ConfigError(*file_, "<top level>", "must be a mapping of sections");
    }
  }
}

Source Source::from_args(int argc, const char* const* argv, const char* const* envp, bool* help) {
  namespace po = boost::program_options;
  po::options_description desc("options");
  desc.add_options()                                              //
      ("help,h", "show usage")                                    //
      ("config,c", po::value<std::string>(), "YAML config file")  //
      ("check-config", "validate the settings and the files they name, then exit")  //
      ("set,s", po::value<std::vector<std::string>>()->composing(), "override a key: --set section.key=value");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError("command line", "arguments", std::string(e.what()) + "; usage: --config FILE --set key=value");
  }
  if (help != nullptr) *help = vm.count("help") > 0;
  std::map<std::string, std::string> flags;
  if (vm.count("set")) {
    for (const std::string& kv : vm["set"].as<std::vector<std::string>>()) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw ConfigError("command line", "--set " + kv, "expected key=value, e.g. --set http.listen=:8080");
      }
      flags[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  std::map<std::string, std::string> env;
  for (const char* const* e = envp; e != nullptr && *e != nullptr; ++e) {
    std::string_view s(*e);
    if (s.starts_with("IOC_")) {
      const auto eq = s.find('=');
      if (eq != std::string_view::npos) env.emplace(std::string(s.substr(0, eq)), std::string(s.substr(eq + 1)));
    }
  }
  std::optional<std::string> file;
  if (vm.count("config")) file = vm["config"].as<std::string>();
  Source out(std::move(file), std::move(flags), std::move(env));
  out.check_only_ = vm.count("check-config") > 0;
  return out;
}

std::string Source::env_name(std::string_view key) {
  std::string name = "IOC_";
  for (const char c : key) name.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return name;
}

std::optional<Source::Raw> Source::lookup(std::string_view key) {
  consumed_.insert(std::string(key));
  if (auto it = flags_.find(std::string(key)); it != flags_.end()) {
    return Raw{it->second, "flag --set " + std::string(key), YAML::Node(YAML::NodeType::Undefined)};
  }
  const std::string env = env_name(key);
  if (auto it = env_.find(env); it != env_.end()) return Raw{it->second, "environment " + env, YAML::Node(YAML::NodeType::Undefined)};
  if (file_) {
    YAML::Node n = find_node(root_, key);
    if (n && !n.IsNull()) {
      return Raw{n.IsScalar() ? n.Scalar() : std::string(), *file_, n};
    }
  }
  return std::nullopt;
}

void Source::fail(const Raw& raw, std::string_view key, const std::string& allowed) {
  throw ConfigError(raw.origin, std::string(key), allowed + (raw.value.empty() ? "" : ", got '" + raw.value + "'"));
}

std::string Source::get_string(std::string_view key, std::string def) {
  auto raw = lookup(key);
  if (!raw) return def;
  if (raw->node && !raw->node.IsScalar()) fail(*raw, key, "must be a string");
  return raw->value;
}

std::int64_t Source::get_int(std::string_view key, std::int64_t def, std::int64_t min, std::int64_t max) {
  auto raw = lookup(key);
  if (!raw) return def;
  std::int64_t v = 0;
  const std::string s = trim(raw->value);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) fail(*raw, key, "must be an integer");
  if (v < min || v > max) {
    fail(*raw, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return v;
}

double Source::get_double(std::string_view key, double def, double min, double max) {
  auto raw = lookup(key);
  if (!raw) return def;
  const std::string s = trim(raw->value);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || !std::isfinite(v)) {
    fail(*raw, key, "must be a number");
  }
  if (v < min || v > max) fail(*raw, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return v;
}

bool Source::get_bool(std::string_view key, bool def) {
  auto raw = lookup(key);
  if (!raw) return def;
  const std::string s = trim(raw->value);
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  fail(*raw, key, "must be true or false");
}

std::optional<std::chrono::milliseconds> Source::parse_duration(std::string_view text) {
  const std::string s = trim(text);
  if (s.empty()) return std::nullopt;
  if (s == "0") return std::chrono::milliseconds(0);
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + s.size(), n);
    if (ec != std::errc() || n < 0) return std::nullopt;
    i = static_cast<std::size_t>(p - s.data());
    std::size_t j = i;
    while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
    const std::string_view unit(s.data() + i, j - i);
    std::int64_t scale = 0;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60'000;
    else if (unit == "h") scale = 3'600'000;
    else if (unit == "d") scale = 86'400'000;
    else return std::nullopt;
    if (n > std::numeric_limits<std::int64_t>::max() / scale - total / scale) return std::nullopt;
    total += n * scale;
    i = j;
  }
  return std::chrono::milliseconds(total);
}

std::chrono::milliseconds Source::get_duration(std::string_view key, std::chrono::milliseconds def,
                                               std::chrono::milliseconds min) {
  auto raw = lookup(key);
  if (!raw) return def;
  auto d = parse_duration(raw->value);
  if (!d) fail(*raw, key, "must be a duration like 250ms, 15s, 1m30s, 2h or 1d");
  if (*d < min) fail(*raw, key, "must be at least " + std::to_string(min.count()) + "ms");
  return *d;
}

std::vector<std::string> Source::get_list(std::string_view key, std::vector<std::string> def) {
  auto raw = lookup(key);
  if (!raw) return def;
  std::vector<std::string> out;
  if (raw->node && raw->node.IsSequence()) {
    for (const auto& item : raw->node) {
      if (!item.IsScalar()) fail(*raw, key, "must be a list of strings");
      out.push_back(item.Scalar());
    }
    return out;
  }
  if (raw->node && !raw->node.IsScalar()) fail(*raw, key, "must be a list or a comma-separated string");
  std::string_view s = raw->value;
  while (!s.empty()) {
    const auto comma = s.find(',');
    std::string item = trim(s.substr(0, comma));
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

HostPort Source::get_listen(std::string_view key, std::string_view def) {
  auto raw = lookup(key);
  const std::string s = raw ? trim(raw->value) : std::string(def);
  const auto colon = s.rfind(':');
  HostPort hp;
  unsigned port = 0;
  const char* begin = s.data() + (colon == std::string::npos ? 0 : colon + 1);
  auto [p, ec] = std::from_chars(begin, s.data() + s.size(), port);
  if (colon == std::string::npos || ec != std::errc() || p != s.data() + s.size() || port > 65535) {
    if (raw) fail(*raw, key, "must be [host]:port, e.g. :8080 or 127.0.0.1:8080");
    throw ConfigError("built-in default", std::string(key), "bad default '" + s + "'");
  }
  hp.host = s.substr(0, colon);
  hp.port = static_cast<std::uint16_t>(port);
  return hp;
}

std::string Source::get_path(std::string_view key, const std::string& def, const std::string& base_dir) {
  auto raw = lookup(key);
  std::filesystem::path p = raw ? raw->value : def;
  if (p.empty()) return {};
  if (p.is_relative()) {
    const bool from_file = raw && file_ && raw->origin == *file_;
    const std::filesystem::path base =
        from_file ? std::filesystem::path(*file_).parent_path() : std::filesystem::path(base_dir);
    p = base / p;
  }
  return p.lexically_normal().string();
}

std::map<std::string, std::string> Source::get_map(std::string_view key) {
  consumed_.insert(std::string(key));
  std::map<std::string, std::string> out;
  if (file_) {
    YAML::Node n = find_node(root_, key);
    if (n && !n.IsNull()) {
      if (!n.IsMap()) throw ConfigError(*file_, std::string(key), "must be a mapping of name: value");
      for (const auto& kv : n) {
        if (!kv.second.IsScalar()) {
          throw ConfigError(*file_, std::string(key) + "." + kv.first.as<std::string>(), "must be a scalar value");
        }
        out[kv.first.as<std::string>()] = kv.second.Scalar();
      }
    }
  }
  const std::string env_prefix = env_name(key) + "_";
  for (const auto& [name, value] : env_) {
    // Env names are lossy (dots become underscores); map IOC_KAFKA_PROPERTIES_SOCKET_TIMEOUT_MS
    // to "socket.timeout.ms", the librdkafka convention.
    if (name.starts_with(env_prefix) && name.size() > env_prefix.size()) {
      std::string sub;
      for (const char c : name.substr(env_prefix.size())) {
        sub.push_back(c == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      }
      out[sub] = value;
    }
  }
  const std::string flag_prefix = std::string(key) + ".";
  for (const auto& [name, value] : flags_) {
    if (name.starts_with(flag_prefix)) out[name.substr(flag_prefix.size())] = value;
  }
  return out;
}

void Source::finish(const std::vector<std::string>& owned_prefixes) const {
  if (!file_ || !root_ || root_.IsNull()) return;
  std::vector<std::string> leaves;
  collect_leaves(root_, "", leaves);
  for (const std::string& leaf : leaves) {
    bool owned = false;
    for (const std::string& prefix : owned_prefixes) {
      if (leaf == prefix || leaf.starts_with(prefix + ".")) owned = true;
    }
    if (!owned) continue;
    bool known = false;
    for (const std::string& c : consumed_) {
      if (leaf == c || leaf.starts_with(c + ".")) known = true;
    }
    if (!known) {
      std::string allowed = "unknown key; known keys:";
      for (const std::string& c : consumed_) {
        for (const std::string& prefix : owned_prefixes) {
          if (c.starts_with(prefix + ".") || c == prefix) {
            allowed += " " + c;
            break;
          }
        }
      }
      throw ConfigError(*file_, leaf, allowed);
    }
  }
}

}  // namespace ioc::config
