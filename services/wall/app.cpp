#include "app.hpp"

#include <random>
#include <thread>

#include "ioc/core/log.hpp"
#include "publisher.hpp"
#include "reader.hpp"
#include "routes.hpp"

namespace ioc::wall {

namespace {

// Names this run's event log: ids a client kept from another run are
// recognised as foreign and answered with a snapshot.
std::string epoch(TimePoint now) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llx%04x", static_cast<unsigned long long>(to_epoch_ms(now)),
                static_cast<unsigned>(std::random_device{}() & 0xffffu));
  return buf;
}

}  // namespace

int run(const Config& cfg) {
  if (cfg.common.check_only) return daemon::config_ok(cfg.common);
  log::init(cfg.common.service, cfg.common.log_level);
  daemon::check_topics(cfg.common, {cfg.aggregates_topic, cfg.alerts_topic, cfg.reports_topic});
  const Registry registry = daemon::load_registry(cfg.common);
  const Clock& clock = SystemClock::instance();
  SharedState shared(cfg.wall, registry);
  SseHub hub(epoch(clock.now()), cfg.sse);
  daemon::Front front(cfg.common, 2);
  Metrics metrics(front.registry());
  TopicReader reader(cfg, shared, clock, metrics);
  Publisher publisher(cfg.title, shared, hub, clock, metrics, [&reader] {
    return ServiceStatus{reader.restored(), reader.broker_connected()};
  });
  add_routes(front.router(), hub, cfg.sse, clock, metrics);
  front.every(cfg.publish_interval, [&publisher] { publisher.tick(); });
  front.every(cfg.sse.keepalive, [&hub] { hub.keep_alive(); });
  front.start([&reader, &hub, &publisher] {
    metrics::Readiness r;
    r.details["restored"] = publisher.showing_restored();
    r.details["broker_connected"] = reader.broker_connected();
    r.details["sse_clients"] = hub.clients();
    r.details["last_event_id"] = hub.last_event_id();
    if (!publisher.showing_restored()) {
      r.ready = false;
      r.reason = "restoring the wall from the topics";
    } else if (!reader.broker_connected()) {
      r.ready = false;
      r.reason = "no broker connection";
    }
    return r;
  });
  std::atomic<bool> stop{false};
  int code = 0;
  std::thread poller([&] {
    try {
      reader.run(stop);
    } catch (const std::exception& e) {
      log::error("topic reader stopped", {{"error", e.what()}});
      code = 1;
    }
    front.request_stop();  // if the reader ends on its own, end the process too
  });
  log::info("wall ready", {{"page", "http://127.0.0.1:" + std::to_string(front.port()) + "/"},
                           {"aggregates", cfg.aggregates_topic},
                           {"alerts", cfg.alerts_topic},
                           {"reports", cfg.reports_topic}});
  const int sig = front.wait_for_signal();
  log::info("shutting down", {{"signal", sig}});
  // A read model has nothing to flush or commit: a stop cut short by
  // process.shutdown_timeout (a Kafka client stuck in its teardown after
  // a broker outage) loses nothing.
  front.shutdown_done(code);
  stop = true;
  poller.join();
  hub.close_all();  // streams finish; the front's drain then sees no open connection
  front.stop();
  return code;
}

}  // namespace ioc::wall
