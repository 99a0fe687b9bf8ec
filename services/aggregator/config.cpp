#include "config.hpp"

#include "ioc/core/config_error.hpp"

namespace ioc::aggregator {

Config load_config(config::Source& src) {
  Config c;
  c.common = daemon::load_common(src, "ioc-aggregator", ":9101");
  c.views_file = src.get_path("aggregator.views", "views.yaml", daemon::default_config_dir());
  c.group_id = src.get_string("aggregator.group_id", c.group_id);
  c.output_topic = src.get_string("aggregator.output_topic", c.output_topic);
  c.deadletter_topic = src.get_string("aggregator.deadletter_topic", c.deadletter_topic);
  c.state_topic = src.get_string("aggregator.state_topic", c.state_topic);
  c.max_future_skew = src.get_duration("aggregator.max_future_skew", c.max_future_skew);
  c.duplicates_window = src.get_duration("aggregator.duplicates_window", c.duplicates_window);
  c.batch_size = static_cast<std::size_t>(src.get_int("aggregator.batch_size", 2000, 1, 100'000));
  c.checkpoint_interval =
      src.get_duration("aggregator.checkpoint_interval", c.checkpoint_interval, std::chrono::milliseconds(10));
  c.restore_timeout = src.get_duration("aggregator.restore_timeout", c.restore_timeout, std::chrono::milliseconds(100));
  c.delivery_timeout = src.get_duration("aggregator.delivery_timeout", c.delivery_timeout);
  c.stats_interval = src.get_duration("aggregator.stats_interval", c.stats_interval, std::chrono::milliseconds(50));
  c.stall_timeout = src.get_duration("aggregator.stall_timeout", c.stall_timeout, std::chrono::milliseconds(100));
  for (const std::string& url : src.get_list("aggregator.peers", {})) {
    c.peers.push_back(parse_peer(url, src.file().value_or("settings"), "aggregator.peers"));
  }
  c.peer_timeout =
      src.get_duration("aggregator.peer_timeout", c.peer_timeout, std::chrono::milliseconds(10));
  daemon::finish(src, "aggregator");
  c.views = views::Catalog::load(c.views_file, "aggregator.views").views();
  return c;
}

}  // namespace ioc::aggregator
