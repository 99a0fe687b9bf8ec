#include "ioc/rules/fingerprint.hpp"

#include <cstdio>

#include "ioc/core/hash.hpp"

namespace ioc::rules {

std::string fingerprint(std::string_view rule, const std::vector<Label>& labels) {
  // Separators that cannot occur in names keep "a|bc" and "ab|c" apart.
  std::uint64_t h = fnv1a(rule);
  for (const Label& l : labels) {
    h = fnv1a("\x1f", h);
    h = fnv1a(l.name, h);
    h = fnv1a("\x1e", h);
    h = fnv1a(l.value, h);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string episode_id(std::string_view fingerprint, TimePoint starts_at) {
  return std::string(fingerprint) + "-" + std::to_string(to_epoch_ms(starts_at));
}

}  // namespace ioc::rules
