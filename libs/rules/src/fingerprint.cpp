#include "ioc/rules/fingerprint.hpp"

#include <cstdio>

namespace ioc::rules {

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string fingerprint(std::string_view rule, const std::vector<Label>& labels) {
  // Separators that cannot occur in names keep "a|bc" and "ab|c" apart.
  std::uint64_t h = fnv1a64(rule);
  for (const Label& l : labels) {
    h = fnv1a64("\x1f", h);
    h = fnv1a64(l.name, h);
    h = fnv1a64("\x1e", h);
    h = fnv1a64(l.value, h);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string episode_id(std::string_view fingerprint, TimePoint starts_at) {
  return std::string(fingerprint) + "-" + std::to_string(to_epoch_ms(starts_at));
}

}  // namespace ioc::rules
