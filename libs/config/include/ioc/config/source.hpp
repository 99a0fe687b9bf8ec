#pragma once
/// Layered settings: built-in defaults < YAML file < environment < flags.
///
/// A service asks for each key it knows with a typed getter and a default;
/// the Source looks the key up in `--set key=value` flags, then in the
/// environment (IOC_ + key upper-cased with '.' → '_', e.g.
/// kafka.bootstrap_servers ↔ IOC_KAFKA_BOOTSTRAP_SERVERS), then in the YAML
/// file. Every bad value throws ioc::ConfigError naming where it came from,
/// the key, and what is allowed. finish() rejects keys in the file that no
/// getter asked for (typos fail fast instead of being ignored).
///
/// Not thread-safe: used by main() during start-up only.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace ioc::config {

/// host:port to listen on or connect to. An empty host means all interfaces.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const { return (host.empty() ? std::string("0.0.0.0") : host) + ":" + std::to_string(port); }
};

class Source {
 public:
  /// `flags`: key → value from --set; `env`: the process environment as NAME → value.
  Source(std::optional<std::string> file, std::map<std::string, std::string> flags,
         std::map<std::string, std::string> env);

  /// Parses argv: `--config FILE`, `--set key=value` (repeatable),
  /// `--check-config`, `--help`. Throws ConfigError on a malformed flag.
  /// `help` is set when --help was given.
  static Source from_args(int argc, const char* const* argv, const char* const* envp, bool* help = nullptr);

  /// The YAML file, if any; relative paths in it resolve against its folder.
  const std::optional<std::string>& file() const { return file_; }
  /// --check-config: validate every setting and file, then exit (no network).
  bool check_only() const { return check_only_; }

  std::string get_string(std::string_view key, std::string def);
  std::int64_t get_int(std::string_view key, std::int64_t def, std::int64_t min, std::int64_t max);
  double get_double(std::string_view key, double def, double min, double max);
  bool get_bool(std::string_view key, bool def);
  /// Durations like "250ms", "15s", "1m30s", "2h", "1d".
  std::chrono::milliseconds get_duration(std::string_view key, std::chrono::milliseconds def,
                                         std::chrono::milliseconds min = std::chrono::milliseconds(0));
  /// A YAML sequence, or a comma-separated string from env/flags.
  std::vector<std::string> get_list(std::string_view key, std::vector<std::string> def);
  /// ":8080", "127.0.0.1:8080", "localhost:0".
  HostPort get_listen(std::string_view key, std::string_view def);
  /// A path; relative paths resolve against the config file's folder (or
  /// against `base_dir` when there is no file).
  std::string get_path(std::string_view key, const std::string& def, const std::string& base_dir);
  /// A flat string map (e.g. extra librdkafka properties). Flags/env add
  /// entries as key.sub=value.
  std::map<std::string, std::string> get_map(std::string_view key);

  /// Throws ConfigError for file keys under `owned_prefixes` that no getter
  /// asked for. Other services' sections are left alone.
  void finish(const std::vector<std::string>& owned_prefixes) const;

  /// Parses a duration string; nullopt when malformed. Exposed for tests.
  static std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

 private:
  struct Raw {
    std::string value;
    std::string origin;  // "flag --set x", "env IOC_X", "file F"
    YAML::Node node;     // the file node; Undefined for env/flag values
  };
  std::optional<Raw> lookup(std::string_view key);
  static std::string env_name(std::string_view key);
  [[noreturn]] static void fail(const Raw& raw, std::string_view key, const std::string& allowed);

  std::optional<std::string> file_;
  YAML::Node root_;
  std::map<std::string, std::string> flags_;
  std::map<std::string, std::string> env_;
  std::set<std::string> consumed_;
  bool check_only_ = false;
};

}  // namespace ioc::config
