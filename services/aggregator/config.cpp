#include "config.hpp"

#include "ioc/core/config_error.hpp"

namespace ioc::aggregator {

namespace {

window::EmitMode parse_emit(config::Source& src) {
  const std::string v = src.get_string("aggregator.emit", "final");
  if (v == "final") return window::EmitMode::kFinalOnly;
  if (v == "update") return window::EmitMode::kOnUpdate;
  if (v == "both") return window::EmitMode::kBoth;
  throw ConfigError(src.file().value_or("settings"), "aggregator.emit", "must be final, update or both, got '" + v + "'");
}

}  // namespace

Config load_config(config::Source& src) {
  Config c;
  c.common = daemon::load_common(src, "ioc-aggregator", ":9101");
  c.group_id = src.get_string("aggregator.group_id", c.group_id);
  c.input_topic = src.get_string("aggregator.input_topic", c.input_topic);
  c.output_topic = src.get_string("aggregator.output_topic", c.output_topic);
  c.deadletter_topic = src.get_string("aggregator.deadletter_topic", c.deadletter_topic);
  c.view_name = src.get_string("aggregator.view", c.view_name);
  c.window = src.get_duration("aggregator.window", c.window, std::chrono::milliseconds(1));
  c.allowed_lateness = src.get_duration("aggregator.allowed_lateness", c.allowed_lateness);
  c.out_of_orderness = src.get_duration("aggregator.out_of_orderness", c.out_of_orderness);
  c.idle_timeout = src.get_duration("aggregator.idle_timeout", c.idle_timeout);
  c.max_future_skew = src.get_duration("aggregator.max_future_skew", c.max_future_skew);
  c.emit = parse_emit(src);
  c.update_interval = src.get_duration("aggregator.update_interval", c.update_interval, std::chrono::milliseconds(1));
  c.sample_ids = static_cast<std::uint32_t>(src.get_int("aggregator.sample_ids", c.sample_ids, 0, window::kMaxSampleRefs));
  c.batch_size = static_cast<std::size_t>(src.get_int("aggregator.batch_size", 2000, 1, 100'000));
  c.commit_interval = src.get_duration("aggregator.commit_interval", c.commit_interval, std::chrono::milliseconds(10));
  c.delivery_timeout =
      src.get_duration("aggregator.delivery_timeout", c.delivery_timeout, std::chrono::milliseconds(100));
  c.stats_interval = src.get_duration("aggregator.stats_interval", c.stats_interval, std::chrono::milliseconds(50));
  c.stall_timeout = src.get_duration("aggregator.stall_timeout", c.stall_timeout, std::chrono::milliseconds(100));
  daemon::finish(src, "aggregator");
  return c;
}

}  // namespace ioc::aggregator
