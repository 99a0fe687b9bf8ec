#pragma once
/// The wall's HTTP routes:
///   GET /                the page (index.html), GET /assets/{file} its files
///   GET /api/v1/state    every section's latest content as JSON
///   GET /events          Server-Sent Events: a snapshot or a replay from
///                        Last-Event-ID, then every change; 503 with
///                        Retry-After past wall.sse.max_clients
/// Handlers run on the HTTP loop and never block.

#include "ioc/core/clock.hpp"
#include "ioc/http/server.hpp"
#include "metrics.hpp"
#include "sse_hub.hpp"

namespace ioc::wall {

/// `hub`, `clock` and `metrics` must outlive the server's connections.
void add_routes(http::Router& router, SseHub& hub, const SseOptions& options, const Clock& clock, Metrics& metrics);

}  // namespace ioc::wall
