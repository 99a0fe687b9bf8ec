#include "app.hpp"

#include <prometheus/counter.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "ioc/codec/codec.hpp"
#include "ioc/core/config_error.hpp"
#include "ioc/core/log.hpp"
#include "ioc/http/client.hpp"
#include "history.hpp"
#include "ioc/core/time_format.hpp"
#include "ioc/core/topics.hpp"
#include "ioc/kafka/admin.hpp"
#include "ioc/kafka/producer.hpp"

namespace ioc::sim {

Config load_config(config::Source& src) {
  Config c;
  c.common = daemon::load_common(src, "ioc-sim", ":9103");
  const config::HostPort intake = src.get_listen("sim.intake", "127.0.0.1:8080");
  c.intake_host = intake.host.empty() ? "127.0.0.1" : intake.host;
  c.intake_port = intake.port;
  c.reports_per_second = src.get_double("sim.reports_per_second", c.reports_per_second, 0, 100'000);
  c.transactions_per_second = src.get_double("sim.transactions_per_second", c.transactions_per_second, 0, 1'000'000);
  c.telemetry_per_second = src.get_double("sim.telemetry_per_second", c.telemetry_per_second, 0, 1'000'000);
  c.air_quality_per_second = src.get_double("sim.air_quality_per_second", c.air_quality_per_second, 0, 1'000'000);
  c.generator.seed = static_cast<std::uint64_t>(src.get_int("sim.seed", 1, 1, INT64_MAX));
  c.generator.delayed_report_fraction = src.get_double("sim.delayed_report_fraction", 0.02, 0, 1);
  c.generator.stations = static_cast<int>(src.get_int("sim.stations", 1283, 1, 1'000'000));
  c.generator.silent_station_fraction = src.get_double("sim.silent_station_fraction", 0.01, 0, 1);
  c.duration = src.get_duration("sim.duration", c.duration);
  c.history.span = src.get_duration("sim.history.span", c.history.span);
  c.history.max_lag = src.get_int("sim.history.max_lag", c.history.max_lag, 0, INT64_MAX);
  c.history.pace_group = src.get_string("sim.history.pace_group", c.history.pace_group);
  if (const std::string kind = src.get_string("sim.scenario.kind", ""); kind == "demo") {
    c.scenarios = demo_sequence();
  } else if (!kind.empty()) {
    auto k = parse_scenario_kind(kind);
    if (!k.ok()) {
      throw ConfigError(src.file().value_or("settings"), "sim.scenario.kind",
                        k.error().message + ", or demo (a scripted sequence)");
    }
    Scenario s;
    s.kind = *k;
    s.district = src.get_string("sim.scenario.district", "");
    s.start = src.get_duration("sim.scenario.start", s.start);
    s.duration = src.get_duration("sim.scenario.duration", s.duration, std::chrono::seconds(1));
    s.reports_per_second = src.get_double("sim.scenario.reports_per_second", s.reports_per_second, 0.01, 10'000);
    s.delay = src.get_duration("sim.scenario.delay", s.delay, std::chrono::seconds(1));
    s.feed = src.get_string("sim.scenario.feed", s.feed);
    c.scenarios.push_back(std::move(s));
  }
  for (const std::string& item : src.get_list("sim.scenarios", {})) {
    auto s = parse_scenario_item(item);
    if (!s.ok()) throw ConfigError(src.file().value_or("settings"), "sim.scenarios", s.error().message);
    c.scenarios.push_back(std::move(*s));
  }
  daemon::finish(src, "sim");
  return c;
}

std::vector<std::string> expand_shortcuts(const std::vector<std::string>& args) {
  static const std::pair<const char*, const char*> kShortcuts[] = {{"--scenario", "sim.scenario.kind"},
                                                                   {"--district", "sim.scenario.district"},
                                                                   {"--start", "sim.scenario.start"},
                                                                   {"--duration", "sim.scenario.duration"},
                                                                   {"--seed", "sim.seed"},
                                                                   {"--history", "sim.history.span"},
                                                                   {"--scenarios", "sim.scenarios"}};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const char* key = nullptr;
    for (const auto& [flag, k] : kShortcuts) {
      if (args[i] == flag) key = k;
    }
    if (key != nullptr && i + 1 < args.size()) {
      out.emplace_back("--set");
      out.push_back(std::string(key) + "=" + args[++i]);
    } else {
      out.push_back(args[i]);
    }
  }
  return out;
}

namespace {

// Stops every pacing loop at once.
class StopFlag {
 public:
  void set() {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  /// Sleeps until `t` or stop; true when stopped.
  bool wait_until(std::chrono::steady_clock::time_point t) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, t, [this] { return stop_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

// Calls `emit` `rate` times per second on average, in small batches, until
// stopped. `emit` may ask for a pause (e.g. Retry-After) by returning it.
// `clock` must be a real one: the waits between batches are real waits.
template <typename Emit>
void paced(double rate, const Clock& clock, StopFlag& stop, Emit emit) {
  if (rate <= 0) return;
  const MonotonicTime start = clock.monotonic();
  const auto tick = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(std::clamp(1.0 / rate, 0.005, 0.05)));
  std::uint64_t sent = 0;
  auto next = start;
  while (!stop.wait_until(next)) {
    const double elapsed = std::chrono::duration<double>(clock.monotonic() - start).count();
    const auto due = static_cast<std::uint64_t>(elapsed * rate);
    std::chrono::milliseconds pause{0};
    while (sent < due && pause.count() == 0) {
      pause = emit();
      ++sent;
    }
    next = clock.monotonic() + std::max<std::chrono::steady_clock::duration>(tick, pause);
    if (pause.count() > 0)
      sent = static_cast<std::uint64_t>((elapsed + std::chrono::duration<double>(pause).count()) * rate);
  }
}

constexpr const char* kInputTopics[] = {topics::kReports, topics::kTransactions, topics::kTelemetry,
                                        topics::kAirQuality};

/// Records of the input topics that `group` has not committed yet; nullopt
/// when the cluster does not say.
std::optional<std::int64_t> unread_by(kafka::Admin& admin, const std::string& group) {
  constexpr auto kTimeout = std::chrono::seconds(5);
  auto listed = admin.topics(kTimeout);
  if (!listed.ok()) return std::nullopt;
  std::vector<kafka::TopicPartition> parts;
  for (const auto& t : *listed) {
    for (const char* name : kInputTopics) {
      if (t.name != name) continue;
      for (std::int32_t p = 0; p < t.partitions; ++p) parts.push_back({t.name, p, -1});
    }
  }
  auto done = admin.committed(group, parts, kTimeout);
  if (!done.ok()) return std::nullopt;
  std::int64_t unread = 0;
  for (const kafka::TopicPartition& tp : *done) {
    auto wm = admin.watermarks(tp.topic, tp.partition, kTimeout);
    if (!wm.ok()) return std::nullopt;
    unread += wm->log_end - std::max(tp.offset, wm->log_start);
  }
  return unread;
}

/// `sim.history.*`: the span written as fast as the broker (and, paced,
/// the aggregator) takes it, with a progress line every few seconds.
int run_history(const Config& cfg, const Registry& registry) {
  const TimePoint to = SystemClock::instance().now();
  const TimePoint from = to - cfg.history.span;
  GeneratorOptions options = cfg.generator;
  options.timeline = Timeline(cfg.scenarios, from);
  History history(registry, options,
                  {cfg.reports_per_second, cfg.transactions_per_second, cfg.telemetry_per_second,
                   cfg.air_quality_per_second},
                  from, to);
  kafka::Producer producer(cfg.common.kafka, kafka::Producer::Options{.linger = std::chrono::milliseconds(20)});
  kafka::Admin admin(cfg.common.kafka);
  log::info("writing history", {{"from", format_rfc3339(from)}, {"to", format_rfc3339(to)},
                                {"max_lag", cfg.history.max_lag}, {"pace_group", cfg.history.pace_group}});
  const auto started = std::chrono::steady_clock::now();
  auto last_line = started;
  std::uint64_t written = 0;
  std::int64_t since_check = 0;
  std::vector<HistoryRecord> batch;
  while (history.next(std::chrono::seconds(1), batch)) {
    for (const HistoryRecord& r : batch) {
      while (!producer.produce(r.topic, r.key, r.bytes, {}, {}, -1, to_epoch_ms(r.time)).ok()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the queue is full: let it drain
      }
    }
    written += batch.size();
    since_check += static_cast<std::int64_t>(batch.size());
    const auto now = std::chrono::steady_clock::now();
    if (cfg.history.max_lag > 0 && since_check >= cfg.history.max_lag / 4) {
      since_check = 0;
      (void)producer.flush(std::chrono::seconds(30));
      for (;;) {
        const auto unread = unread_by(admin, cfg.history.pace_group);
        if (unread && *unread <= cfg.history.max_lag) break;
        log::info("history waits for its reader", {{"group", cfg.history.pace_group},
                                                   {"unread", unread ? *unread : -1},
                                                   {"max_lag", cfg.history.max_lag}});
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
    }
    if (now - last_line >= std::chrono::seconds(2)) {
      last_line = now;
      const double done = std::chrono::duration<double>(history.time() - from) / (to - from);
      const double secs = std::chrono::duration<double>(now - started).count();
      std::printf("history at %s: %.0f%% written, %llu records, %.0f records/s\n",
                  format_rfc3339(history.time()).c_str(), 100 * done, static_cast<unsigned long long>(written),
                  static_cast<double>(written) / secs);
      std::fflush(stdout);
    }
  }
  if (Status s = producer.flush(std::chrono::seconds(60)); !s.ok()) {
    log::error("history not fully written", {{"error", s.error().message}});
    return 1;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("history written: %s to %s, %llu records in %.1f s\n", format_rfc3339(from).c_str(),
              format_rfc3339(to).c_str(), static_cast<unsigned long long>(written), secs);
  return 0;
}

}  // namespace

int run(const Config& cfg) {
  const Registry registry = daemon::load_registry(cfg.common);
  for (const Scenario& s : cfg.scenarios) {
    if (Status st = validate(s, registry); !st.ok()) throw ConfigError("settings", "sim.scenario", st.error().message);
  }
  if (cfg.common.check_only) return daemon::config_ok(cfg.common);
  log::init(cfg.common.service, cfg.common.log_level);
  if (cfg.history.span.count() > 0) {
    daemon::check_topics(cfg.common, {topics::kReports, topics::kTransactions, topics::kTelemetry, topics::kAirQuality});
    return run_history(cfg, registry);
  }
  daemon::check_topics(cfg.common,
                       {kafka::topics::kTransactions, kafka::topics::kTelemetry, kafka::topics::kAirQuality});
  GeneratorOptions options = cfg.generator;
  options.timeline = Timeline(cfg.scenarios, SystemClock::instance().now());
  daemon::Front front(cfg.common);
  auto& sent = prometheus::BuildCounter()
                   .Name("ioc_sim_sent_total")
                   .Help("Synthetic records sent, by stream and outcome")
                   .Register(front.registry());
  kafka::Producer producer(cfg.common.kafka, kafka::Producer::Options{});
  front.start([&producer] {
    return producer.connected() ? metrics::Readiness{} : metrics::Readiness{false, "kafka brokers unreachable"};
  });
  StopFlag stop;

  // Reports go through the intake, as an app would send them; the flood
  // scenarios' surge runs beside the steady stream.
  auto report_stream = [&](const char* stream, double rate, auto next) {
    return std::thread([&, stream, rate, next] {
      Generator gen(registry, options);
      http::Client client(cfg.intake_host, cfg.intake_port, std::chrono::seconds(15));
      auto& accepted = sent.Add({{"stream", stream}, {"outcome", "accepted"}});
      auto& rejected = sent.Add({{"stream", stream}, {"outcome", "rejected"}});
      auto& retry = sent.Add({{"stream", stream}, {"outcome", "unavailable"}});
      paced(rate, SystemClock::instance(), stop, [&]() -> std::chrono::milliseconds {
        const std::optional<std::string> body = next(gen, SystemClock::instance().now());
        if (!body) return std::chrono::milliseconds(0);  // no scenario active now
        auto res = client.post("/api/v1/reports", *body, "application/json");
        if (!res.ok()) {
          retry.Increment();
          return std::chrono::seconds(1);
        }
        if (res->result() == http::Status::accepted) {
          accepted.Increment();
          return std::chrono::milliseconds(0);
        }
        if (res->result() == http::Status::service_unavailable) {
          retry.Increment();
          int after = 1;
          try {
            after = std::stoi(std::string((*res)[http::beast_http::field::retry_after]));
          } catch (const std::exception&) {
            after = 1;
          }
          return std::chrono::seconds(std::clamp(after, 1, 60));
        }
        rejected.Increment();
        log::warn("report rejected", {{"status", res->result_int()}, {"body", res->body()}});
        return std::chrono::milliseconds(0);
      });
    });
  };
  std::thread reports = report_stream("reports", cfg.reports_per_second, [](Generator& g, TimePoint now) {
    return std::optional<std::string>(report_json(g.next_report(now)));
  });
  std::thread surge = report_stream("scenario_reports", options.timeline.max_flood_rate(),
                                    [](Generator& g, TimePoint now) -> std::optional<std::string> {
                                      auto r = g.next_flood_report(now);
                                      return r ? std::optional<std::string>(report_json(*r)) : std::nullopt;
                                    });

  auto kafka_stream = [&](const char* stream, double rate, auto next, const char* topic) {
    return std::thread([&, stream, rate, next, topic] {
      Generator gen(registry, options);
      auto& ok = sent.Add({{"stream", stream}, {"outcome", "queued"}});
      auto& failed = sent.Add({{"stream", stream}, {"outcome", "failed"}});
      std::string bytes;
      paced(rate, SystemClock::instance(), stop, [&]() -> std::chrono::milliseconds {
        const auto record = next(gen, SystemClock::instance().now());
        codec::encode(record, bytes);
        if (producer.produce(topic, record.district, bytes).ok()) {
          ok.Increment();
          return std::chrono::milliseconds(0);
        }
        failed.Increment();
        return std::chrono::milliseconds(100);  // queue full: let the broker catch up
      });
    });
  };
  std::thread transactions = kafka_stream(
      "transactions", cfg.transactions_per_second, [](Generator& g, TimePoint now) { return g.next_transaction(now); },
      kafka::topics::kTransactions);
  std::thread telemetry = kafka_stream(
      "telemetry", cfg.telemetry_per_second, [](Generator& g, TimePoint now) { return g.next_telemetry(now); },
      kafka::topics::kTelemetry);
  std::thread air_quality = kafka_stream(
      "air_quality", cfg.air_quality_per_second,
      [](Generator& g, TimePoint now) { return g.next_air_quality(now); }, kafka::topics::kAirQuality);

  log::info("simulator running", {{"intake", cfg.intake_host + ":" + std::to_string(cfg.intake_port)},
                                  {"reports_per_second", cfg.reports_per_second},
                                  {"transactions_per_second", cfg.transactions_per_second},
                                  {"telemetry_per_second", cfg.telemetry_per_second},
                                  {"air_quality_per_second", cfg.air_quality_per_second}});
  for (const Scenario& s : cfg.scenarios) {
    log::info("scenario scheduled", {{"scenario", to_string(s.kind)},
                                     {"district", s.district.empty() ? "all" : s.district},
                                     {"start_s", static_cast<std::int64_t>(s.start.count() / 1000)},
                                     {"duration_s", static_cast<std::int64_t>(s.duration.count() / 1000)}});
  }
  std::thread timer;
  if (cfg.duration.count() > 0) {
    timer = std::thread([&] {
      if (!stop.wait_until(SystemClock::instance().monotonic() + cfg.duration)) front.request_stop();
    });
  }
  const int sig = front.wait_for_signal();
  log::info("shutting down", {{"signal", sig}});
  stop.set();
  reports.join();
  surge.join();
  transactions.join();
  telemetry.join();
  air_quality.join();
  if (timer.joinable()) timer.join();
  (void)producer.flush(std::chrono::seconds(10));
  front.shutdown_done(0);
  front.stop();
  return 0;
}

}  // namespace ioc::sim
