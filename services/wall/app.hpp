#pragma once
/// ioc-wall's process: config, the topic reader (reader.hpp) on its own
/// thread, the HTTP front with the page, state and event routes
/// (routes.hpp), the publisher on the front's loop, and a clean stop on
/// SIGTERM.

#include "config.hpp"

namespace ioc::wall {

/// Runs the service until SIGINT/SIGTERM; returns the exit code.
int run(const Config& cfg);

}  // namespace ioc::wall
