#include "app.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <thread>

#include "alerter.hpp"
#include "backtest.hpp"
#include "api.hpp"
#include "ioc/core/config_error.hpp"
#include "ioc/core/log.hpp"
#include "notifier.hpp"
#include "summary.hpp"

#ifndef IOC_DEFAULT_CONFIG_DIR
#error "IOC_DEFAULT_CONFIG_DIR must be defined by the build"
#endif

namespace ioc::alerter {

rules::RuleSet load_rules_or_throw(const std::vector<std::string>& files, const views::Catalog& views) {
  rules::Parsed p = rules::load_rules(files, &views);
  if (!p.ok()) {
    std::string all;
    for (const auto& e : p.errors) all += "\n  " + e.to_string();
    throw ConfigError(files.front(), "alerter.rules",
                      std::to_string(p.errors.size()) + " problem(s) in the rule files:" + all);
  }
  return std::move(p.rules);
}

int check_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::vector<std::string> files;
  std::string views_file;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--check") continue;
    if (args[i] == "--views") {
      if (i + 1 >= args.size()) {
        err << "ioc-alerter: --views needs a file\n";
        return 2;
      }
      views_file = args[++i];
      continue;
    }
    if (args[i].starts_with("--")) {
      err << "ioc-alerter: unknown option " << args[i]
          << "\nusage: ioc-alerter --check RULES.yaml [MORE.yaml ...] [--views VIEWS.yaml]\n";
      return 2;
    }
    files.push_back(args[i]);
  }
  if (files.empty()) {
    err << "usage: ioc-alerter --check RULES.yaml [MORE.yaml ...] [--views VIEWS.yaml]\n";
    return 2;
  }
  if (views_file.empty()) {
    // The views beside the (first) rule file, as deploy/config ships them;
    // else the installed ones.
    const std::filesystem::path beside = std::filesystem::path(files[0]).parent_path() / "views.yaml";
    std::error_code ec;
    views_file = std::filesystem::is_regular_file(beside, ec) ? beside.string()
                                                              : std::string(IOC_DEFAULT_CONFIG_DIR) + "/views.yaml";
  }
  views::Catalog views;
  try {
    views = views::Catalog::load(views_file, "--views");
  } catch (const ConfigError& e) {
    err << e.what() << "\n";
    return 2;
  }
  rules::Parsed p = rules::load_rules(files, &views);
  for (const auto& e : p.errors) err << e.to_string() << "\n";
  if (!p.ok()) {
    err << p.errors.size() << " problem(s) found\n";
    return 2;
  }
  // Counted by the kind's number, named in that order below.
  static_assert(static_cast<int>(rules::ConditionKind::kThreshold) == 0 &&
                static_cast<int>(rules::ConditionKind::kRatio) == 1 &&
                static_cast<int>(rules::ConditionKind::kBaseline) == 2 &&
                static_cast<int>(rules::ConditionKind::kAbsence) == 3 &&
                static_cast<int>(rules::ConditionKind::kMembers) == 4);
  std::size_t by_kind[5] = {};
  for (const auto& r : p.rules.rules) ++by_kind[static_cast<int>(r.kind)];
  std::string files_text;
  for (const auto& f : files) files_text += (files_text.empty() ? "" : ", ") + f;
  out << files_text << ": " << p.rules.rules.size() << " rules OK against " << views_file << " (" << by_kind[0]
      << " threshold, " << by_kind[1] << " ratio, " << by_kind[2] << " baseline, " << by_kind[3] << " absence, "
      << by_kind[4] << " members)\n";
  return 0;
}

int run(const Config& cfg) {
  const views::Catalog views = views::Catalog::load(cfg.views_file, "alerter.views");
  rules::RuleSet rules = load_rules_or_throw(cfg.rule_files, views);
  if (cfg.common.check_only) {
    std::cout << "ioc-alerter: " << rules.rules.size() << " rules OK (" << cfg.rule_files.size() << " file(s))\n";
    return daemon::config_ok(cfg.common);
  }
  log::init(cfg.common.service, cfg.common.log_level);
  daemon::check_topics(cfg.common, {cfg.input_topic, cfg.output_topic, cfg.deadletter_topic});
  const Registry registry = daemon::load_registry(cfg.common);
  daemon::Front front(cfg.common);
  AlertViewBox box;
  add_routes(front.router(), box, CapContext{cfg.cap, registry, cfg.province, cfg.external_url});
  add_summary_routes(front.router(), box.ledger(), box.history(),
                     SummaryContext{cfg.kpi, cfg.summary_utc_offset, cfg.summary_offset, &registry, cfg.province.name});

  // One sink and one notifier per Alertmanager instance, as Prometheus sends.
  std::vector<std::unique_ptr<AlertmanagerSink>> sinks;
  std::vector<std::unique_ptr<Notifier>> notifiers;
  std::vector<AlertChannel*> channels;
  for (const AlertmanagerTarget& t : cfg.alertmanager.targets) {
    sinks.push_back(std::make_unique<AlertmanagerSink>(t, cfg.alertmanager.timeout));
    notifiers.push_back(std::make_unique<Notifier>(cfg.alertmanager, t, cfg.external_url, *sinks.back(),
                                                   SystemClock::instance(), front.registry()));
    channels.push_back(notifiers.back().get());
  }
  Alerter alerter(cfg, std::move(rules), views, registry, SystemClock::instance(), front.registry(), channels, box);
  front.on_reload([&] {
    try {
      alerter.replace_rules(load_rules_or_throw(cfg.rule_files, views));
    } catch (const ConfigError& e) {
      alerter.reload_rejected();
      log::error("rule files not reloaded; the previous rules stay", {{"error", e.what()}});
    }
  });
  front.start([&alerter, &notifiers] {
    metrics::Readiness r = alerter.readiness();
    if (!notifiers.empty()) {
      std::size_t queued = 0;  // the longest queue: what the slowest instance still waits for
      for (const auto& n : notifiers) queued = std::max(queued, n->depth());
      r.details["delivery_queue"] = queued;
    }
    return r;
  });
  for (const auto& n : notifiers) n->start();
  std::atomic<bool> stop{false};
  bool healthy = true;
  std::thread poller([&] {
    try {
      healthy = alerter.run(stop);
    } catch (const std::exception& e) {
      log::error("alerter stopped", {{"error", e.what()}});
      healthy = false;
    }
    front.request_stop();  // if the loop ends on its own, end the process too
  });
  log::info("alerter ready", {{"input", cfg.input_topic},
                              {"output", cfg.output_topic},
                              {"rules", cfg.rule_files.front()},
                              {"alertmanager", alertmanager_urls(cfg.alertmanager)},
                              {"state_dir", cfg.state_dir}});
  const int sig = front.wait_for_signal();
  log::info("shutting down", {{"signal", sig}});
  stop = true;
  poller.join();
  // Resolutions still queued get a last chance to reach Alertmanager: 5 s
  // for all instances together, not one after the other.
  {
    std::vector<std::thread> stopping;
    stopping.reserve(notifiers.size());
    for (const auto& n : notifiers) stopping.emplace_back([&n] { n->stop(std::chrono::seconds(5)); });
    for (std::thread& t : stopping) t.join();
  }
  front.shutdown_done(healthy ? 0 : 1);
  front.stop();
  return healthy ? 0 : 1;
}

int backtest_command(int argc, char** argv, char** envp) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = take_backtest_args(args);
  if (!options.ok()) {
    std::cerr << "ioc-alerter: " << options.error().message
              << "\nusage: ioc-alerter --backtest [--rules FILE...] [--from T] [--to T] [--format text|json] "
                 "[--config FILE] [--set key=value ...]\n";
    return 2;
  }
  std::vector<char*> rest{argv[0]};
  for (std::string& a : args) rest.push_back(a.data());
  return daemon::main(static_cast<int>(rest.size()), rest.data(), envp, "ioc-alerter", [&](config::Source& src) {
    const Config cfg = load_config(src);
    log::init(cfg.common.service, cfg.common.log_level);
    return run_backtest(cfg, *options, std::cout);
  });
}

}  // namespace ioc::alerter
