#include "ioc/core/model.hpp"

namespace ioc {

std::string window_result_key(const WindowResult& r) {
  std::string key = r.view;
  key.push_back('|');
  for (std::size_t i = 0; i < r.group.size(); ++i) {
    if (i != 0) key.push_back('/');
    key += r.group[i].value;
  }
  key.push_back('|');
  key += std::to_string(to_epoch_ms(r.window_start));
  return key;
}

}  // namespace ioc

namespace ioc {

const char* to_string(AlertEvent::State state) {
  switch (state) {
    case AlertEvent::State::kFiring: return "firing";
    case AlertEvent::State::kResolved: return "resolved";
    case AlertEvent::State::kPending: return "pending";
    case AlertEvent::State::kInactive: return "inactive";
    case AlertEvent::State::kUnspecified: break;
  }
  return "unspecified";
}

}  // namespace ioc
