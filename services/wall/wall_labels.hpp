#pragma once
// Private to the wall (not installed, not included by other headers):
// what reading inputs (wall_state.cpp) and rendering (wall_render.cpp) share.

#include <cstdint>
#include <string_view>
#include <vector>

#include "ioc/core/clock.hpp"
#include "ioc/core/model.hpp"

namespace ioc::wall {

inline std::int64_t ms(TimePoint t) { return to_epoch_ms(t); }

inline std::string_view label_of(const std::vector<Label>& labels, std::string_view name) {
  for (const Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

inline int severity_rank(std::string_view s) {
  if (s == "critical") return 3;
  if (s == "warning") return 2;
  if (s == "info") return 1;
  return 0;
}

// Unknown severities are shown as info: the alert is still on the wall.
inline std::string_view severity_name(std::string_view s) {
  switch (severity_rank(s)) {
    case 3: return "critical";
    case 2: return "warning";
    default: return "info";
  }
}

}  // namespace ioc::wall
