#pragma once
/// ingest(): one record of one of the wall's topics, decoded and applied to
/// the WallState. Undecodable bytes come back as Outcome::kMalformed with
/// the codec's reason; the wall is a read-only view, so it counts and logs
/// them and goes on (the producers' own checks and the aggregator's dead
/// letters are where bad input is kept). Pure; not thread-safe.

#include <string>
#include <string_view>

#include "wall_state.hpp"

namespace ioc::wall {

enum class Topic : std::uint8_t { kAggregates, kAlerts, kReports };
const char* to_string(Topic topic);

Outcome ingest(WallState& state, Topic topic, std::string_view bytes, TimePoint arrival, std::string* error);

}  // namespace ioc::wall
