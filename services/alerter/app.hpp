#pragma once
/// ioc-alerter's process: config, rules, the pipeline (alerter.hpp), the
/// Alertmanager notifier, the HTTP front (alerts API, CAP, /metrics,
/// /healthz, /readyz), SIGHUP to reload the rule files, a clean stop on
/// SIGTERM; the `--check` command for rule files and `--backtest`.

#include <iosfwd>
#include <string>
#include <vector>

#include "config.hpp"
#include "ioc/rules/parse.hpp"

namespace ioc::alerter {

/// Runs the service until SIGINT/SIGTERM; returns the exit code.
int run(const Config& cfg);

/// Loads the rule files against the views; throws ConfigError listing every problem.
rules::RuleSet load_rules_or_throw(const std::vector<std::string>& files, const views::Catalog& views);

/// `ioc-alerter --check RULES.yaml [MORE.yaml ...] [--views VIEWS.yaml]`:
/// prints every problem as file:line:column: field: message (stderr) and
/// exits 2, or prints a summary (stdout) and exits 0. `args` excludes argv[0].
int check_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

/// `ioc-alerter --backtest [--rules FILE...] [--from T] [--to T] [--format
/// text|json] [--config FILE] [--set key=value ...]` (backtest.hpp): the
/// report on stdout, logs on stderr.
int backtest_command(int argc, char** argv, char** envp);

}  // namespace ioc::alerter
