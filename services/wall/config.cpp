#include "config.hpp"

#include <filesystem>

#include "ioc/core/config_error.hpp"
#include "ioc/rules/parse.hpp"

namespace ioc::wall {

Config load_config(config::Source& src) {
  Config c;
  c.common = daemon::load_common(src, "ioc-wall", ":8088");
  c.title = src.get_string("wall.title", c.title);
  c.aggregates_topic = src.get_string("wall.aggregates_topic", c.aggregates_topic);
  c.alerts_topic = src.get_string("wall.alerts_topic", c.alerts_topic);
  c.reports_topic = src.get_string("wall.reports_topic", c.reports_topic);
  WallOptions& w = c.wall;
  w.views.reports = src.get_string("wall.views.reports", w.views.reports);
  w.views.transactions = src.get_string("wall.views.transactions", w.views.transactions);
  w.views.processing = src.get_string("wall.views.processing", w.views.processing);
  w.views.stations = src.get_string("wall.views.stations", w.views.stations);
  w.views.water_level = src.get_string("wall.views.water_level", w.views.water_level);
  w.views.rainfall = src.get_string("wall.views.rainfall", w.views.rainfall);
  w.targets = daemon::load_kpi_targets(src);
  const std::chrono::milliseconds second(1000);
  w.stale_reports = src.get_duration("wall.stale_after.reports", w.stale_reports, second);
  w.stale_transactions = src.get_duration("wall.stale_after.transactions", w.stale_transactions, second);
  w.stale_telemetry = src.get_duration("wall.stale_after.telemetry", w.stale_telemetry, second);
  w.station_silence = src.get_duration("wall.station_silence", w.station_silence, second);
  w.station_horizon = src.get_duration("wall.station_horizon", w.station_horizon, second);
  w.station_kind = src.get_string("wall.station_kind", w.station_kind);
  w.latest_reports = static_cast<std::size_t>(src.get_int("wall.latest_reports", 12, 1, 200));
  w.sparkline_interval = src.get_duration("wall.sparkline.interval", w.sparkline_interval, second);
  w.sparkline_points = static_cast<std::size_t>(src.get_int("wall.sparkline.points", 90, 2, 10'000));
  w.resolved_visible = src.get_duration("wall.resolved_visible", w.resolved_visible);
  w.max_alerts = static_cast<std::size_t>(src.get_int("wall.max_alerts", 1000, 1, 100'000));
  c.restore_window = src.get_duration("wall.restore.window", c.restore_window, second);
  c.restore_reports_per_partition = src.get_int("wall.restore.reports_per_partition", 2000, 0, 10'000'000);
  c.publish_interval = src.get_duration("wall.publish_interval", c.publish_interval, std::chrono::milliseconds(10));
  SseOptions& s = c.sse;
  s.max_clients = static_cast<std::size_t>(src.get_int("wall.sse.max_clients", 64, 1, 100'000));
  s.max_clients_per_address =
      static_cast<std::size_t>(src.get_int("wall.sse.max_clients_per_address", 8, 1, 100'000));
  s.client_buffer_bytes =
      static_cast<std::size_t>(src.get_int("wall.sse.client_buffer_bytes", 4 << 20, 64 << 10, 1 << 30));
  s.replay_events = static_cast<std::size_t>(src.get_int("wall.sse.replay_events", 4096, 1, 1'000'000));
  s.replay_bytes = static_cast<std::size_t>(
      src.get_int("wall.sse.replay_bytes", 2 << 20, 1 << 10, static_cast<std::int64_t>(s.client_buffer_bytes)));
  s.keepalive = src.get_duration("wall.sse.keepalive", s.keepalive, std::chrono::milliseconds(100));
  s.retry = src.get_duration("wall.sse.retry", s.retry, std::chrono::milliseconds(100));
  s.write_timeout = src.get_duration("wall.sse.write_timeout", s.write_timeout, std::chrono::milliseconds(100));
  c.views_file = src.get_path("wall.views_file", src.get_string("aggregator.views", "views.yaml"),
                              daemon::default_config_dir());
  // The alerter's rule files unless the wall is told otherwise: the wall
  // folds alerts by the same inhibitions the alerter's API does.
  const std::filesystem::path base =
      src.file() ? std::filesystem::path(*src.file()).parent_path() : std::filesystem::path(daemon::default_config_dir());
  for (const std::string& f : src.get_list("wall.rules", src.get_list("alerter.rules", {"rules.yaml"}))) {
    const std::filesystem::path p = f;
    c.rule_files.push_back((p.is_relative() ? base / p : p).lexically_normal().string());
  }
  daemon::finish(src, "wall");
  src.finish({"kpi"});
  const views::Catalog catalog = views::Catalog::load(c.views_file, "wall.views_file");
  views::require(catalog, needs(w.views));
  if (!c.rule_files.empty()) {  // wall.rules: [] shows every alert as its own card
    rules::Parsed parsed = rules::load_rules(c.rule_files, &catalog);
    if (!parsed.ok()) {
      throw ConfigError(c.rule_files.front(), "wall.rules",
                        parsed.errors.front().to_string() + " (check with: ioc-alerter --check FILE...)");
    }
    w.inhibitions = parsed.rules.inhibitions();
  }
  return c;
}

}  // namespace ioc::wall
