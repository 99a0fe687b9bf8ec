#pragma once
/// async_get(): one HTTP/1.1 GET that never blocks the thread running the
/// io_context — for a service that asks other services from inside its
/// own loop (the aggregator asking its peers while it serves /metrics).
/// Resolve, connect, write and read all end by one deadline. Thread-safe:
/// may be called from any thread; each call runs on its own strand.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "ioc/core/result.hpp"
#include "ioc/http/types.hpp"

namespace ioc::http {

/// Sends GET `target` to host:port (connection: close). `done` runs exactly
/// once, on the io_context: the response (any status), kDeadlineExceeded
/// when `deadline` came first, or kUnavailable (resolve, connect, transport).
void async_get(boost::asio::io_context& io, std::string host, std::uint16_t port, std::string target,
               std::chrono::steady_clock::time_point deadline, std::function<void(Result<Response>)> done);

}  // namespace ioc::http
