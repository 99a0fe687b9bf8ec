#include "app.hpp"

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "ioc/core/config_error.hpp"
#include "ioc/core/log.hpp"
#include "ioc/kafka/admin.hpp"
#include "retention.hpp"

namespace ioc::broker {

Config load_config(config::Source& src) {
  Config c;
  c.common = daemon::load_common(src, "ioc-broker", ":9104");
  c.bootstrap = src.get_listen("broker.bootstrap", "127.0.0.1:9092");
  if (c.bootstrap.host.empty()) c.bootstrap.host = "127.0.0.1";
  c.brokers = static_cast<int>(src.get_int("broker.brokers", 1, 1, 9));
  // topics.partitions.<topic> also creates topics outside the project's plan.
  c.topics = c.common.topics;
  for (const std::string& extra : src.get_list("broker.extra_topics", {})) {
    if (std::none_of(c.topics.begin(), c.topics.end(), [&](const auto& t) { return t.name == extra; })) {
      c.topics.push_back({extra, static_cast<int>(src.get_int("topics.default_partitions", 6, 1, 1000))});
    }
  }
  c.monitor_interval = src.get_duration("broker.monitor_interval", std::chrono::seconds(5), std::chrono::milliseconds(100));
  c.watch_groups = src.get_list("broker.watch_groups", {"ioc-aggregator", "ioc-alerter", "ioc-wall"});
  c.address_file = src.get_string("broker.address_file", "");
  daemon::finish(src, "broker");
  return c;
}

namespace {

// Runs the retention watch on its own thread: Admin calls block on the
// network and must not stall the HTTP loop.
class Watcher {
 public:
  Watcher(const Config& cfg, const std::string& bootstrap, prometheus::Registry& registry)
      : cfg_(cfg), admin_({bootstrap, "ioc-broker-watch", {}}), watch_(registry), thread_([this] { loop(); }) {}
  ~Watcher() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      pass();
      lock.lock();
      cv_.wait_for(lock, cfg_.monitor_interval, [this] { return stop_; });
    }
  }

  void pass() {
    const auto timeout = std::chrono::milliseconds(2000);
    auto topics = admin_.topics(timeout);
    if (!topics.ok()) {
      log::warn("retention watch: metadata failed", {{"error", topics.error().message}});
      return;
    }
    std::vector<std::string> groups = cfg_.watch_groups;
    // ListGroups, where the broker supports it, adds groups nobody configured.
    if (auto listed = admin_.groups(timeout); listed.ok()) {
      for (auto& g : *listed) {
        if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(std::move(g));
      }
    }
    watch_.observe(read_offsets(admin_, *topics, groups, timeout));
  }

  const Config& cfg_;
  kafka::Admin admin_;
  RetentionWatch watch_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int run(const Config& cfg) {
  if (cfg.common.check_only) return daemon::config_ok(cfg.common);
  log::init(cfg.common.service, cfg.common.log_level);
  // Broker i listens on, and advertises, bootstrap port + i - 1: the same
  // addresses after every restart, so clients reconnect by themselves.
  kafka::EmbeddedBroker broker(cfg.brokers, cfg.topics, {cfg.bootstrap.host, cfg.bootstrap.port});
  const std::string brokers = broker.bootstrap_servers();
  const std::string stable = brokers.substr(0, brokers.find(','));

  daemon::Front front(cfg.common);
  front.start([] { return metrics::Readiness{}; });

  Watcher watcher(cfg, stable, front.registry());
  if (!cfg.address_file.empty()) {
    const std::string tmp = cfg.address_file + ".tmp";
    std::ofstream(tmp) << stable << "\n";
    std::filesystem::rename(tmp, cfg.address_file);
  }
  std::int64_t partitions = 0;
  for (const auto& t : cfg.topics) partitions += t.partitions;
  log::info("broker ready", {{"bootstrap_servers", stable},
                             {"brokers", brokers},
                             {"topics", static_cast<std::int64_t>(cfg.topics.size())},
                             {"partitions", partitions},
                             {"retention", "in memory, about 5 MB per partition; use real Kafka for durability"}});

  const int sig = front.wait_for_signal();
  log::info("shutting down", {{"signal", sig}});
  front.shutdown_done(0);
  front.stop();
  if (!cfg.address_file.empty()) std::filesystem::remove(cfg.address_file);
  return 0;
}

}  // namespace ioc::broker
