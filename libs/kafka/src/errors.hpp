#pragma once
/// The one place where librdkafka error codes become ioc::Error values.

#include <librdkafka/rdkafka.h>

#include <string_view>

#include "ioc/core/result.hpp"

namespace ioc::kafka {

/// True for errors that go away by themselves (broker restarts, leader
/// moves, timeouts): the caller may retry the same operation later.
bool is_retriable(rd_kafka_resp_err_t err);

/// What one connectivity probe (a metadata request) says about the cluster.
enum class Reach {
  kReachable,    // a broker answered
  kUnreachable,  // no broker connection could be used (or the request failed on one)
  kUnknown,      // a connection is up but the answer came late: a busy broker, not a verdict
};
Reach probe_reach(rd_kafka_resp_err_t err);

/// Maps to kUnavailable when retriable, kInvalidArgument for caller errors,
/// kInternal otherwise. `context` prefixes the message ("produce ioc.reports.v1").
Error to_error(rd_kafka_resp_err_t err, std::string_view context);

}  // namespace ioc::kafka
