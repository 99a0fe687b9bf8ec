#include "ioc/daemon/daemon.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "ioc/config/registry_loader.hpp"
#include "ioc/core/config_error.hpp"
#include "ioc/kafka/admin.hpp"

#ifndef IOC_DEFAULT_CONFIG_DIR
#error "IOC_DEFAULT_CONFIG_DIR must be defined by the build"
#endif
#ifndef IOC_VERSION
#define IOC_VERSION "dev"
#endif

namespace ioc::daemon {

namespace asio = boost::asio;

CommonConfig load_common(config::Source& src, const std::string& service, std::string_view default_listen) {
  CommonConfig c;
  c.service = service;
  c.check_only = src.check_only();
  const std::string level = src.get_string("log.level", "info");
  if (!log::parse_level(level, c.log_level)) {
    throw ConfigError(src.file().value_or("settings"), "log.level", "must be debug, info, warn or error, got '" + level + "'");
  }
  const config::HostPort listen = src.get_listen("http.listen", default_listen);
  c.http.host = listen.host.empty() ? "0.0.0.0" : listen.host;
  c.http.port = listen.port;
  c.http.max_body_bytes =
      static_cast<std::size_t>(src.get_int("http.max_body_bytes", 64 * 1024, 1024, 64 * 1024 * 1024));
  c.http.read_timeout = src.get_duration("http.read_timeout", std::chrono::seconds(15), std::chrono::milliseconds(100));
  c.http.idle_timeout = src.get_duration("http.idle_timeout", std::chrono::seconds(60), std::chrono::milliseconds(100));
  c.http.max_connections = static_cast<std::size_t>(src.get_int("http.max_connections", 4096, 1, 1'000'000));
  c.http.max_connections_per_address =
      static_cast<std::size_t>(src.get_int("http.max_connections_per_address", 256, 0, 1'000'000));
  c.http.server_name = service;
  c.kafka.bootstrap_servers = src.get_string("kafka.bootstrap_servers", "127.0.0.1:9092");
  c.kafka.client_id = src.get_string("kafka.client_id", service);
  c.kafka.properties = src.get_map("kafka.properties");
  c.districts_file = src.get_path("registry.districts", "districts.yaml", IOC_DEFAULT_CONFIG_DIR);
  c.categories_file = src.get_path("registry.categories", "categories.yaml", IOC_DEFAULT_CONFIG_DIR);
  c.shutdown_timeout = src.get_duration("process.shutdown_timeout", std::chrono::seconds(30));
  const auto partitions = static_cast<int>(src.get_int("topics.default_partitions", 6, 1, 1000));
  const auto replication = static_cast<int>(src.get_int("topics.replication_factor", -1, -1, 100));
  c.topics = kafka::project_topics(partitions, replication);
  for (const auto& [topic, n] : src.get_map("topics.partitions")) {
    int v = 0;
    const auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
    if (ec != std::errc() || p != n.data() + n.size() || v < 1 || v > 1000) {
      throw ConfigError(src.file().value_or("settings"), "topics.partitions." + topic, "must be 1..1000, got '" + n + "'");
    }
    auto it = std::find_if(c.topics.begin(), c.topics.end(), [&name = topic](const auto& t) { return t.name == name; });
    if (it == c.topics.end()) {
      c.topics.push_back({topic, v, replication, {}});
    } else {
      it->partitions = v;
    }
  }
  return c;
}

void check_topics(const CommonConfig& cfg, const std::vector<std::string>& names) {
  std::vector<kafka::TopicSpec> plan;
  for (const std::string& name : names) {
    auto it = std::find_if(cfg.topics.begin(), cfg.topics.end(), [&](const auto& t) { return t.name == name; });
    plan.push_back(it != cfg.topics.end() ? *it : kafka::TopicSpec{name, 0, 0});  // 0: any partitions, replication
  }
  kafka::Admin admin(cfg.kafka);
  auto check = kafka::check_topics(admin, plan, std::chrono::seconds(5));
  if (!check.ok()) {
    log::warn("topics not checked: the cluster did not answer", {{"error", check.error().message}});
    return;
  }
  for (const kafka::TopicDifference& d : check->differences) {
    log::warn("topic differs from the plan (topics.*; ioc-topics --check says how to fix it)",
              {{"difference", d.describe()}});
  }
  if (!check->missing.empty()) {
    std::string list;
    for (const std::string& t : check->missing) list += (list.empty() ? "" : ", ") + t;
    throw ConfigError("kafka " + cfg.kafka.bootstrap_servers, "topics",
                      "missing topic(s) " + list + ": create them first with ioc-topics (same --config and --set " +
                          "flags), see README \"Running on a real Kafka cluster\"");
  }
}

KpiTargets load_kpi_targets(config::Source& src) {
  KpiTargets t;
  t.online = src.get_double("kpi.online_target", t.online, 0, 1);
  t.overdue = src.get_double("kpi.overdue_target", t.overdue, 0, 1);
  return t;
}

void finish(const config::Source& src, const std::string& service_section) {
  src.finish({"log", "http", "kafka", "registry", "process", "topics", service_section});
}

const char* default_config_dir() { return IOC_DEFAULT_CONFIG_DIR; }

Registry load_registry(const CommonConfig& cfg) { return config::load_registry(cfg.districts_file, cfg.categories_file); }

int config_ok(const CommonConfig& cfg) {
  const Registry registry = load_registry(cfg);
  std::cout << cfg.service << ": configuration OK (" << registry.districts().size() << " districts, "
            << registry.categories().size() << " categories)\n";
  return 0;
}

Front::Front(const CommonConfig& cfg, unsigned threads)
    : cfg_(cfg),
      threads_(threads == 0 ? 1 : threads),
      exposition_(std::make_shared<metrics::Exposition>(cfg.service, IOC_VERSION)),
      http_metrics_(std::make_unique<metrics::HttpMetrics>(exposition_->registry())) {}

Front::~Front() { stop(std::chrono::milliseconds(0)); }

void Front::start(metrics::ReadinessCheck ready) {
  metrics::add_endpoints(router_, exposition_, std::move(ready));
  server_ = std::make_unique<http::Server>(io_, cfg_.http, std::move(router_));
  server_->set_observer([m = http_metrics_.get()](const http::Completed& c) { m->observe(c); });
  server_->set_refusal_observer([m = http_metrics_.get()](const http::Refused& r) { m->refused(r); });
  server_->start();
  auto signals = std::make_shared<asio::signal_set>(io_, SIGINT, SIGTERM);
  signals->async_wait([this, signals](boost::system::error_code ec, int sig) {
    if (ec) return;
    std::lock_guard lock(mu_);
    signal_ = sig;
    cv_.notify_all();
  });
  if (reload_) {
    auto hup = std::make_shared<asio::signal_set>(io_, SIGHUP);
    auto wait = std::make_shared<std::function<void(boost::system::error_code, int)>>();
    *wait = [this, hup, weak = std::weak_ptr(wait)](boost::system::error_code ec, int) {
      if (ec) return;
      log::info("SIGHUP: reloading");
      reload_();
      if (auto self = weak.lock()) hup->async_wait(*self);
    };
    reload_wait_ = wait;
    hup->async_wait(*wait);
  }
  for (unsigned i = 0; i < threads_; ++i) {
    loop_.emplace_back([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }
  log::info("listening", {{"address", cfg_.http.host + ":" + std::to_string(server_->port())},
                          {"metrics", "http://127.0.0.1:" + std::to_string(server_->port()) + "/metrics"}});
}

void Front::every(std::chrono::milliseconds interval, std::function<void()> task) {
  auto timer = std::make_shared<asio::steady_timer>(io_);
  auto tick = std::make_shared<std::function<void(boost::system::error_code)>>();
  // The handler holds the timer; the timer's pending wait holds the handler
  // through a weak reference, so io_.stop() releases both.
  *tick = [timer, interval, task = std::move(task), weak = std::weak_ptr(tick)](boost::system::error_code ec) {
    if (ec) return;
    task();
    if (auto self = weak.lock()) {
      timer->expires_after(interval);
      timer->async_wait(*self);
    }
  };
  tasks_.push_back(tick);
  timer->expires_after(interval);
  timer->async_wait(*tick);
}

int Front::wait_for_signal() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return signal_ >= 0; });
  if (cfg_.shutdown_timeout.count() > 0) {
    // Detached: it ends with the process, or ends the process.
    std::thread([timeout = cfg_.shutdown_timeout, code = deadline_exit_code_] {
      std::this_thread::sleep_for(timeout);
      const int c = code->load();
      log::error("shutdown did not finish in time; exiting without waiting for the rest",
                 {{"shutdown_timeout_ms", static_cast<std::int64_t>(timeout.count())}, {"exit_code", c}});
      std::_Exit(c);
    }).detach();
  }
  return signal_;
}

void Front::shutdown_done(int exit_code) { deadline_exit_code_->store(exit_code); }

void Front::request_stop() {
  std::lock_guard lock(mu_);
  if (signal_ < 0) signal_ = 0;
  cv_.notify_all();
}

void Front::stop(std::chrono::milliseconds drain) {
  if (stopped_) return;
  stopped_ = true;
  if (server_) {
    server_->stop();
    // Real time on purpose: the drain bounds a real wait for clients to leave.
    const auto deadline = std::chrono::steady_clock::now() + drain;
    while (server_->open_connections() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  io_.stop();
  for (auto& t : loop_) t.join();
  loop_.clear();
}

int main(int argc, char** argv, char** envp, const std::string& service,
         const std::function<int(config::Source&)>& run, const Usage& usage) {
  try {
    bool help = false;
    config::Source src = config::Source::from_args(argc, argv, envp, &help);
    if (help) {
      std::cout << "usage: " << service << (usage.flags.empty() ? "" : " ") << usage.flags
                << " [--config FILE] [--set key=value ...] [--check-config]\n"
                << "Settings come from built-in defaults < the YAML file < IOC_* environment variables\n"
                << "(key upper-cased, '.' -> '_') < --set flags. See README.md, \"Configuration\".\n"
                << usage.text;
      return 0;
    }
    log::init(service, log::Level::kInfo);
    return run(src);
  } catch (const ConfigError& e) {
    std::cerr << service << ": configuration error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    log::error("fatal", {{"error", e.what()}});
    return 1;
  }
}

}  // namespace ioc::daemon
