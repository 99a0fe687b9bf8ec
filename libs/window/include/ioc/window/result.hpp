#pragma once
/// Window results: what the engine emits and what queries return.
/// Thread-safety: value types; WindowResult's spans point into engine-owned
/// buffers (see Engine::advance for how long they stay valid).

#include <cstdint>
#include <span>
#include <vector>

#include "ioc/window/spec.hpp"

namespace ioc::window {

/// One emitted result of one key-window. Upsert key downstream:
/// (view, key, start); a higher revision replaces a lower one.
struct WindowResult {
  ViewId view = 0;
  GroupKey key = 0;
  std::int64_t start_ms = 0;  // window [start, end), half-open
  std::int64_t end_ms = 0;
  std::uint32_t revision = 0;  // 1, 2, ... per key-window
  bool final = false;          // true only for the one final result (kFinalOnly / kBoth)
  std::int64_t count = 0;      // events in the window
  std::int64_t watermark_ms = 0;  // operator watermark at emission
  std::int64_t emitted_at_ms = 0;  // processing time passed to advance()
  std::span<const double> values;          // value_names(spec) order
  std::span<const std::uint64_t> samples;  // up to ViewSpec::sample_refs record refs
};

/// Owning form of a result, returned by queries.
struct WindowValue {
  GroupKey key = 0;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::uint32_t revision = 0;  // revision of the last emission (0: never emitted)
  bool final = false;
  std::int64_t count = 0;
  std::vector<double> values;
  std::vector<std::uint64_t> samples;
  friend bool operator==(const WindowValue&, const WindowValue&) = default;
};

}  // namespace ioc::window
