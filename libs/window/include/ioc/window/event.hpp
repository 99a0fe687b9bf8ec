#pragma once
/// Event: the one input record of the window engine, and the per-event outcome
/// and late side output. Plain values, thread-safety as for any struct.

#include <array>
#include <cstdint>

#include "ioc/window/spec.hpp"

namespace ioc::window {

/// One decoded input record, as a view sees it. The caller fills only what the
/// view's aggregations read.
struct Event {
  GroupKey key = 0;                 // caller-interned group key
  std::int64_t time_ms = 0;         // event time, ms since epoch
  double value = 0;                 // sum/min/max/mean/last/quantiles; must be finite for those
  std::uint64_t distinct_hash = 0;  // kDistinct: any 64-bit hash or id of the counted thing
  std::uint64_t record_ref = 0;     // evidence: kept in WindowResult::samples; 0 = none
  std::int32_t partition = 0;       // source partition (drives the watermark)
  std::array<std::int32_t, kEventFields> fields{};  // kCountWhere field values

  friend bool operator==(const Event&, const Event&) = default;
};

/// What add() did with an event.
enum class EventOutcome : std::uint8_t {
  kAccepted,
  kLate,      // beyond allowed lateness: every window it belongs to was already final
  kRejected,  // invalid: time_ms outside [kMinEventTimeMs, kMaxEventTimeMs], or a
              // NaN/inf value for a view that aggregates values
};
const char* to_string(EventOutcome outcome);

}  // namespace ioc::window
