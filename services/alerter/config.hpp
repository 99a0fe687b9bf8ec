#pragma once
/// The alerter's settings (`alerter.*` plus the shared sections) and the
/// files they name: rule files, the aggregator's views, the province.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ioc/config/source.hpp"
#include "ioc/daemon/daemon.hpp"
#include "ioc/kafka/client_config.hpp"
#include "ioc/views/catalog.hpp"

namespace ioc::alerter {

/// Where one Alertmanager instance's v2 API is.
struct AlertmanagerTarget {
  std::string url;  // as configured, e.g. http://127.0.0.1:9093
  std::string host;
  std::uint16_t port = 0;
  std::string base_path;  // "" or "/alertmanager" (a route prefix)
};

/// Where Alertmanager is, and how alerts are delivered to it.
struct AlertmanagerConfig {
  /// Every alert goes to each instance, with its own queue and backoff, as
  /// Prometheus does: the instances of an Alertmanager cluster share what
  /// they received and notify once. Empty: no delivery.
  std::vector<AlertmanagerTarget> targets;
  std::chrono::milliseconds timeout{5'000};
  /// Firing alerts are sent again this often (Alertmanager forgets an alert
  /// whose endsAt passed; endsAt of a firing alert is 4 resends ahead).
  std::chrono::milliseconds resend_interval{60'000};
  /// Resolved alerts are sent again for this long (a restart, or
  /// Alertmanager missing the first one, must not leave them firing there).
  std::chrono::milliseconds resolved_retention{15 * 60'000};
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{30'000};
  /// Alerts waiting for delivery; beyond it re-sends give way (counted),
  /// resolutions never do.
  std::size_t max_queue = 10'000;
  std::size_t max_batch = 64;
};

/// The province as CAP <area> needs it (from the districts file).
struct Province {
  std::string code;
  std::string name;
  std::optional<double> lat_min, lat_max, lon_min, lon_max;
};

struct CapConfig {
  std::string sender = "ioc-alerter@ioc.local";
  std::string sender_name = "Intelligent Operations Center";
  std::string language = "en-US";
  /// <expires> of every message: sent + this. A firing episode whose latest
  /// message has used half of it gets an Update, so a hub never drops an
  /// incident that is still on.
  std::chrono::milliseconds expires{3'600'000};
  /// A firing episode gets an Update when its peak moved past the last
  /// message's value by this fraction of the threshold (|threshold|, or 1
  /// when the threshold is 0), or when its severity changed.
  double update_step = 0.25;
};

struct Config {
  daemon::CommonConfig common;
  std::string group_id = "ioc-alerter";
  std::string input_topic = kafka::topics::kAggregates;
  std::string output_topic = kafka::topics::kAlerts;
  std::string deadletter_topic = kafka::topics::kDeadLetter;
  std::vector<std::string> rule_files;
  std::string views_file;
  /// Checkpoints (rule state + the input offsets it covers) live here.
  std::string state_dir = "alerter-state";
  std::chrono::milliseconds checkpoint_interval{5'000};
  std::chrono::milliseconds evaluation_interval{1'000};
  /// A firing alert whose value changed is published again on the alerts
  /// topic at most this often (a CAP Update only when the change is
  /// material: CapConfig::update_step); 0: never.
  std::chrono::milliseconds update_interval{300'000};
  std::size_t batch_size = 2000;
  std::chrono::milliseconds delivery_timeout{30'000};
  std::chrono::milliseconds stats_interval{1'000};
  std::chrono::milliseconds stall_timeout{30'000};
  /// The consumer's fetch.wait.max.ms: a result waits at most this long at
  /// the embedded broker, which holds every fetch that long (Kafka answers
  /// as soon as data arrives, so there it only bounds idle polling).
  std::chrono::milliseconds fetch_wait_max{10};
  /// How long to read ioc.alerts.v1 back at start.
  std::chrono::milliseconds restore_timeout{30'000};
  /// Base of links in alerts (Alertmanager's generatorURL, CAP <web>).
  std::string external_url = "http://127.0.0.1:9102";
  /// Episodes that fired are kept this long after they ended, at most
  /// this many (GET /api/v1/episodes, EpisodeHistory).
  std::chrono::milliseconds history_retention{30LL * 86'400'000};
  std::size_t history_max_episodes = 10'000;
  /// The leadership summary (GET /api/v1/summary): the view whose 24 h
  /// window starting at a local midnight is that day, the province's
  /// offset from UTC ("+07:00", and as a duration), the KPI targets
  /// (section `kpi:`, shared with the wall). Days are kept as long as
  /// the episode history's retention.
  std::string summary_view = "transactions_24h";
  std::string summary_utc_offset = "+07:00";
  std::chrono::milliseconds summary_offset{7LL * 3'600'000};
  KpiTargets kpi;
  AlertmanagerConfig alertmanager;
  CapConfig cap;
  Province province;
};

Config load_config(config::Source& src);

/// Parses "http://host:port[/prefix]". Throws ConfigError naming `key`.
AlertmanagerTarget parse_alertmanager_url(const std::string& source, const std::string& key, const std::string& url);

/// The configured URLs, comma-separated, or "(none)": for logs.
std::string alertmanager_urls(const AlertmanagerConfig& am);

/// The province entry of a districts file (code, name, optional bounds).
Province load_province(const std::string& districts_file);

}  // namespace ioc::alerter
