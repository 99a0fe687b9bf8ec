#include "config.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <filesystem>

#include "ioc/core/config_error.hpp"
#include "ioc/core/time_format.hpp"

#ifndef IOC_DEFAULT_CONFIG_DIR
#error "IOC_DEFAULT_CONFIG_DIR must be defined by the build"
#endif

namespace ioc::alerter {

namespace {

std::string resolve(const config::Source& src, const std::string& path) {
  std::filesystem::path p = path;
  if (p.is_relative()) {
    const std::filesystem::path base =
        src.file() ? std::filesystem::path(*src.file()).parent_path() : std::filesystem::path(IOC_DEFAULT_CONFIG_DIR);
    p = base / p;
  }
  return p.lexically_normal().string();
}

}  // namespace

AlertmanagerTarget parse_alertmanager_url(const std::string& source, const std::string& key, const std::string& url) {
  AlertmanagerTarget am;
  am.url = url;
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    throw ConfigError(source, key, "must be an http:// URL like http://127.0.0.1:9093 (or \"\" for no delivery), got '" + url + "'");
  }
  std::string rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  am.base_path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!am.base_path.empty() && am.base_path.back() == '/') am.base_path.pop_back();
  const auto colon = authority.rfind(':');
  am.host = authority.substr(0, colon);
  int port = 80;
  if (colon != std::string::npos) {
    const std::string p = authority.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || ptr != p.data() + p.size() || port < 1 || port > 65535) {
      throw ConfigError(source, key, "has an invalid port in '" + url + "'");
    }
  }
  if (am.host.empty()) throw ConfigError(source, key, "has no host in '" + url + "'");
  am.port = static_cast<std::uint16_t>(port);
  return am;
}

std::string alertmanager_urls(const AlertmanagerConfig& am) {
  std::string out;
  for (const AlertmanagerTarget& t : am.targets) out += (out.empty() ? "" : ",") + t.url;
  return out.empty() ? "(none)" : out;
}

Province load_province(const std::string& districts_file) {
  Province p;
  try {
    const YAML::Node root = YAML::LoadFile(districts_file);
    const YAML::Node prov = root["province"];
    if (!prov) return p;
    if (prov["code"]) p.code = prov["code"].as<std::string>();
    if (prov["name"]) p.name = prov["name"].as<std::string>();
    if (const YAML::Node b = prov["bounds"]) {
      p.lat_min = b["lat_min"].as<double>();
      p.lat_max = b["lat_max"].as<double>();
      p.lon_min = b["lon_min"].as<double>();
      p.lon_max = b["lon_max"].as<double>();
    }
  } catch (const YAML::Exception& e) {
    throw ConfigError(districts_file, "province", std::string("unreadable: ") + e.what());
  }
  return p;
}

Config load_config(config::Source& src) {
  Config c;
  c.common = daemon::load_common(src, "ioc-alerter", ":9102");
  const std::string source = src.file().value_or("settings");
  c.group_id = src.get_string("alerter.group_id", c.group_id);
  c.input_topic = src.get_string("alerter.input_topic", c.input_topic);
  c.output_topic = src.get_string("alerter.output_topic", c.output_topic);
  c.deadletter_topic = src.get_string("alerter.deadletter_topic", c.deadletter_topic);
  for (const std::string& f : src.get_list("alerter.rules", {"rules.yaml"})) c.rule_files.push_back(resolve(src, f));
  if (c.rule_files.empty()) throw ConfigError(source, "alerter.rules", "must name at least one rule file");
  // The aggregator's views file unless the alerter is told otherwise: the rules must fit what it produces.
  c.views_file = resolve(src, src.get_string("alerter.views", src.get_string("aggregator.views", "views.yaml")));
  c.state_dir = src.get_string("alerter.state_dir", c.state_dir);
  c.checkpoint_interval = src.get_duration("alerter.checkpoint_interval", c.checkpoint_interval, std::chrono::milliseconds(100));
  c.evaluation_interval = src.get_duration("alerter.evaluation_interval", c.evaluation_interval, std::chrono::milliseconds(50));
  c.update_interval = src.get_duration("alerter.update_interval", c.update_interval);
  c.batch_size = static_cast<std::size_t>(src.get_int("alerter.batch_size", 2000, 1, 100'000));
  c.delivery_timeout = src.get_duration("alerter.delivery_timeout", c.delivery_timeout, std::chrono::milliseconds(100));
  c.stats_interval = src.get_duration("alerter.stats_interval", c.stats_interval, std::chrono::milliseconds(50));
  c.stall_timeout = src.get_duration("alerter.stall_timeout", c.stall_timeout, std::chrono::milliseconds(100));
  c.fetch_wait_max = src.get_duration("alerter.fetch_wait_max", c.fetch_wait_max, std::chrono::milliseconds(1));
  c.restore_timeout = src.get_duration("alerter.restore_timeout", c.restore_timeout, std::chrono::milliseconds(100));
  c.external_url = src.get_string("alerter.external_url", c.external_url);
  c.history_retention = src.get_duration("alerter.history.retention", c.history_retention, std::chrono::minutes(1));
  c.history_max_episodes =
      static_cast<std::size_t>(src.get_int("alerter.history.max_episodes", 10'000, 1, 1'000'000));
  c.summary_view = src.get_string("alerter.summary.view", c.summary_view);
  c.summary_utc_offset = src.get_string("alerter.summary.utc_offset", c.summary_utc_offset);
  {
    // "+HH:MM" or "-HH:MM", as RFC 3339 writes it.
    auto local = parse_rfc3339("1970-01-02T00:00:00" + c.summary_utc_offset);
    const auto& o = c.summary_utc_offset;
    if (o.size() != 6 || (o[0] != '+' && o[0] != '-') || !local.ok()) {
      throw ConfigError(source, "alerter.summary.utc_offset",
                        "must be an offset from UTC like +07:00 or -03:30, got '" + o + "'");
    }
    c.summary_offset = from_epoch_ms(86'400'000) - *local;
  }
  c.kpi = daemon::load_kpi_targets(src);
  while (!c.external_url.empty() && c.external_url.back() == '/') c.external_url.pop_back();

  AlertmanagerConfig& am = c.alertmanager;
  // One URL or a list (YAML, or comma-separated): the instances of a cluster.
  for (const std::string& url : src.get_list("alerter.alertmanager.url", {})) {
    for (const AlertmanagerTarget& t : am.targets) {
      if (t.url == url) throw ConfigError(source, "alerter.alertmanager.url", "names '" + url + "' twice");
    }
    am.targets.push_back(parse_alertmanager_url(source, "alerter.alertmanager.url", url));
  }
  am.timeout = src.get_duration("alerter.alertmanager.timeout", am.timeout, std::chrono::milliseconds(10));
  am.resend_interval = src.get_duration("alerter.alertmanager.resend_interval", am.resend_interval, std::chrono::seconds(1));
  am.resolved_retention = src.get_duration("alerter.alertmanager.resolved_retention", am.resolved_retention);
  am.backoff_min = src.get_duration("alerter.alertmanager.backoff_min", am.backoff_min, std::chrono::milliseconds(10));
  am.backoff_max = src.get_duration("alerter.alertmanager.backoff_max", am.backoff_max, am.backoff_min);
  am.max_queue = static_cast<std::size_t>(src.get_int("alerter.alertmanager.max_queue", 10'000, 1, 10'000'000));
  am.max_batch = static_cast<std::size_t>(src.get_int("alerter.alertmanager.max_batch", 64, 1, 10'000));

  c.cap.sender = src.get_string("alerter.cap.sender", c.cap.sender);
  c.cap.sender_name = src.get_string("alerter.cap.sender_name", c.cap.sender_name);
  c.cap.language = src.get_string("alerter.cap.language", c.cap.language);
  c.cap.expires = src.get_duration("alerter.cap.expires", c.cap.expires, std::chrono::minutes(1));
  c.cap.update_step = src.get_double("alerter.cap.update_step", c.cap.update_step, 0.0, 100.0);
  for (char ch : c.cap.sender) {
    if (ch == ' ' || ch == ',' || ch == '<' || ch == '&') {
      throw ConfigError(source, "alerter.cap.sender", "must not contain spaces, commas, '<' or '&' (CAP 1.2)");
    }
  }
  daemon::finish(src, "alerter");
  src.finish({"kpi"});
  c.province = load_province(c.common.districts_file);
  return c;
}

}  // namespace ioc::alerter
