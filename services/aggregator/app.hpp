#pragma once
/// ioc-aggregator's process: config, the pipeline (aggregator.hpp), the HTTP
/// front and a clean stop on SIGTERM.

#include "aggregator.hpp"
#include "config.hpp"

namespace ioc::aggregator {

/// Runs the service until SIGINT/SIGTERM; returns the exit code.
int run(const Config& cfg);

}  // namespace ioc::aggregator
