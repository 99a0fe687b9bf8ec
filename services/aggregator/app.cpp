#include "app.hpp"

#include <thread>

#include "ioc/core/log.hpp"

namespace ioc::aggregator {

int run(const Config& cfg) {
  if (cfg.common.check_only) return daemon::config_ok(cfg.common);
  log::init(cfg.common.service, cfg.common.log_level);
  daemon::check_topics(cfg.common, {cfg.input_topic, cfg.output_topic, cfg.deadletter_topic});
  const Registry registry = daemon::load_registry(cfg.common);
  daemon::Front front(cfg.common);
  Aggregator aggregator(cfg, registry, SystemClock::instance(), front.registry());
  front.start([&aggregator] { return aggregator.readiness(); });
  std::atomic<bool> stop{false};
  bool healthy = true;
  std::thread poller([&] {
    healthy = aggregator.run(stop);
    front.request_stop();  // if the loop ends on its own, end the process too
  });
  log::info("aggregator ready", {{"input", cfg.input_topic},
                                 {"output", cfg.output_topic},
                                 {"group", cfg.group_id},
                                 {"window_ms", static_cast<std::int64_t>(cfg.window.count())},
                                 {"allowed_lateness_ms", static_cast<std::int64_t>(cfg.allowed_lateness.count())},
                                 {"out_of_orderness_ms", static_cast<std::int64_t>(cfg.out_of_orderness.count())},
                                 {"idle_timeout_ms", static_cast<std::int64_t>(cfg.idle_timeout.count())}});
  const int sig = front.wait_for_signal();
  log::info("shutting down", {{"signal", sig}});
  stop = true;
  poller.join();
  // Committed and closed: what remains (client teardown) may be cut short.
  front.shutdown_done(healthy ? 0 : 1);
  front.stop();
  return healthy ? 0 : 1;
}

}  // namespace ioc::aggregator
