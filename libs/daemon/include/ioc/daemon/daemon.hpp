#pragma once
/// What every ioc-* daemon shares: flags → layered config → common settings,
/// structured logs, an HTTP front (service routes + /metrics, /healthz,
/// /readyz) on one io_context, and a clean exit on SIGINT/SIGTERM.
///
/// A service's main() is one line: `return ioc::daemon::main(argc, argv,
/// environ, "ioc-x", run)`, where `run` loads the service's own settings from
/// the Source and runs its App until Front::wait_for_signal() returns.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ioc/config/source.hpp"
#include "ioc/core/kpi.hpp"
#include "ioc/core/log.hpp"
#include "ioc/core/registry.hpp"
#include "ioc/http/server.hpp"
#include "ioc/kafka/client_config.hpp"
#include "ioc/kafka/topics.hpp"
#include "ioc/metrics/endpoints.hpp"

namespace ioc::daemon {

/// Settings every service reads: `log.level`, `http.*`, `kafka.*`, `registry.*`.
struct CommonConfig {
  std::string service;
  log::Level log_level = log::Level::kInfo;
  http::ServerOptions http;
  kafka::ClientConfig kafka;
  std::string districts_file;
  std::string categories_file;
  /// `process.shutdown_timeout`: how long a stop may take, whatever a client
  /// library does (0: unbounded). See Front::wait_for_signal().
  std::chrono::milliseconds shutdown_timeout{0};
  /// `topics.*`: the topics the cluster must hold (kafka::project_topics
  /// with `topics.default_partitions`, `topics.replication_factor` and
  /// `topics.partitions.<topic>` overrides).
  std::vector<kafka::TopicSpec> topics;
  /// `--check-config`: the service validates its settings and files, then
  /// exits through config_ok() without touching the network.
  bool check_only = false;
};

/// Reads the common sections. `default_listen` is the service's port (e.g.
/// ":8080"). Registry paths default to the shipped deploy/config files.
CommonConfig load_common(config::Source& src, const std::string& service, std::string_view default_listen);

/// The section `kpi:` (online_target, overdue_target), shared by the
/// services that judge transactions against the targets (the wall, the
/// alerter's summary). Throws ConfigError for a value outside [0, 1]. A
/// service that reads it checks the section with `src.finish({"kpi"})`.
KpiTargets load_kpi_targets(config::Source& src);

/// Checks at start that the topics a service uses exist as planned.
/// Missing topics throw ConfigError (a cluster with automatic topic creation
/// would otherwise create them with 1 partition at the first write, and
/// scale-out would silently stop working); other partition counts,
/// replication or configs (kafka::check_topics), or a cluster that cannot
/// be reached now, are logged as warnings.
void check_topics(const CommonConfig& cfg, const std::vector<std::string>& names);

/// Rejects unknown keys in the common sections and in `service_section`
/// (Source::finish); other services' sections are left alone.
void finish(const config::Source& src, const std::string& service_section);

/// The folder of the shipped default configuration (deploy/config).
const char* default_config_dir();

/// Loads the province registry named by `cfg`.
Registry load_registry(const CommonConfig& cfg);

/// The end of `--check-config`: loads the registry files (a bad one throws
/// ConfigError: exit 2), prints "<service>: configuration OK" and returns 0.
int config_ok(const CommonConfig& cfg);

/// The HTTP front of a daemon and its event loop. Construct, add routes to
/// router(), start(); then wait_for_signal() blocks until SIGINT/SIGTERM (or
/// request_stop()). stop() drains HTTP and joins the loop threads.
/// Thread-safe: request_stop() from anywhere; the rest from main's thread.
class Front {
 public:
  explicit Front(const CommonConfig& cfg, unsigned threads = 1);
  ~Front();

  http::Router& router() { return router_; }
  metrics::Exposition& exposition() { return *exposition_; }
  prometheus::Registry& registry() { return exposition_->registry(); }
  boost::asio::io_context& io() { return io_; }

  /// Binds the HTTP port (throws on failure), adds the observability
  /// endpoints with `ready` as the readiness check, starts the loop threads.
  void start(metrics::ReadinessCheck ready);
  std::uint16_t port() const { return server_ ? server_->port() : 0; }

  /// Runs `task` on the loop every `interval` until stop() (e.g. refreshing
  /// gauges). Call before or after start().
  void every(std::chrono::milliseconds interval, std::function<void()> task);

  /// Runs `reload` on the loop at every SIGHUP (e.g. re-reading a keys
  /// file). Call before start().
  void on_reload(std::function<void()> reload) { reload_ = std::move(reload); }

  /// Blocks until SIGINT/SIGTERM or request_stop(). Returns the signal
  /// number (0 for request_stop()). From then on the process has
  /// `shutdown_timeout` to exit: past it (a client library stuck in its
  /// teardown, as librdkafka 2.0 can be after broker outages), the error is
  /// logged and the process ends with _exit(): the code given to
  /// shutdown_done(), or 1 when the service never got that far.
  int wait_for_signal();
  void request_stop();
  /// The service's shutdown work that matters (flush, commit) is done;
  /// `exit_code` is what a stop cut short by the deadline returns.
  void shutdown_done(int exit_code);

  /// Stops accepting, lets in-flight requests finish (bounded by
  /// `drain`), stops the loop.
  void stop(std::chrono::milliseconds drain = std::chrono::seconds(5));

 private:
  CommonConfig cfg_;
  unsigned threads_;
  boost::asio::io_context io_;
  http::Router router_;
  std::shared_ptr<metrics::Exposition> exposition_;
  std::unique_ptr<metrics::HttpMetrics> http_metrics_;
  std::unique_ptr<http::Server> server_;
  std::vector<std::thread> loop_;
  std::function<void()> reload_;
  std::shared_ptr<std::function<void(boost::system::error_code, int)>> reload_wait_;
  std::vector<std::shared_ptr<std::function<void(boost::system::error_code)>>> tasks_;
  std::mutex mu_;
  std::condition_variable cv_;
  int signal_ = -1;
  bool stopped_ = false;
  std::shared_ptr<std::atomic<int>> deadline_exit_code_ = std::make_shared<std::atomic<int>>(1);
};

/// What `--help` adds to the common usage: the service's own flags for the
/// usage line ("[--check]") and text after the common lines.
struct Usage {
  std::string_view flags;
  std::string_view text;
};

/// Parses argv/envp, runs `run(source)`, and turns failures into exit codes:
/// 0 ok, 2 configuration error (message on stderr), 1 anything else.
int main(int argc, char** argv, char** envp, const std::string& service,
         const std::function<int(config::Source&)>& run, const Usage& usage = {});

}  // namespace ioc::daemon
