#include "ingest.hpp"

#include "ioc/codec/codec.hpp"

namespace ioc::wall {

const char* to_string(Topic topic) {
  switch (topic) {
    case Topic::kAggregates: return "aggregates";
    case Topic::kAlerts: return "alerts";
    case Topic::kReports: return "reports";
  }
  return "unknown";
}

namespace {

template <typename Record>
Outcome decode_and_apply(WallState& state, std::string_view bytes, TimePoint arrival, std::string* error) {
  Record r;
  if (Status st = codec::decode(bytes, r); !st.ok()) {
    if (error != nullptr) *error = st.error().message;
    return Outcome::kMalformed;
  }
  return state.apply(r, arrival);
}

}  // namespace

Outcome ingest(WallState& state, Topic topic, std::string_view bytes, TimePoint arrival, std::string* error) {
  switch (topic) {
    case Topic::kAggregates: return decode_and_apply<WindowResult>(state, bytes, arrival, error);
    case Topic::kAlerts: return decode_and_apply<AlertEvent>(state, bytes, arrival, error);
    case Topic::kReports: return decode_and_apply<Report>(state, bytes, arrival, error);
  }
  return Outcome::kInvalid;
}

}  // namespace ioc::wall
