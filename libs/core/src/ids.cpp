#include "ioc/core/ids.hpp"

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/string_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

namespace ioc {

IdGenerator::IdGenerator(const Clock& clock, std::uint64_t seed)
    : clock_(clock), rng_(seed != 0 ? seed : std::random_device{}()) {}

std::string IdGenerator::next() {
  std::array<std::uint8_t, 16> b{};
  std::int64_t ms = 0;
  std::uint64_t rand_a = 0;
  std::uint64_t rand_b = 0;
  {
    std::lock_guard lock(mu_);
    ms = to_epoch_ms(clock_.now());
    // Monotonic within the process even if the wall clock steps back: keep
    // the last timestamp and bump the counter (RFC 9562 method 1).
    if (ms <= last_ms_) {
      ms = last_ms_;
      if (++counter_ > 0x0FFF) {
        ++ms;
        counter_ = 0;
      }
    } else {
      counter_ = static_cast<std::uint16_t>(rng_() & 0x01FF);  // random start leaves headroom
    }
    last_ms_ = ms;
    rand_a = counter_;
    rand_b = rng_();
  }
  const auto ums = static_cast<std::uint64_t>(ms);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(ums >> (8 * (5 - i)));
  b[6] = static_cast<std::uint8_t>(0x70 | ((rand_a >> 8) & 0x0F));
  b[7] = static_cast<std::uint8_t>(rand_a & 0xFF);
  b[8] = static_cast<std::uint8_t>(0x80 | ((rand_b >> 56) & 0x3F));
  for (int i = 9; i < 16; ++i) b[i] = static_cast<std::uint8_t>(rand_b >> (8 * (15 - i)));

  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0F]);
  }
  return out;
}

std::string name_uuid(std::string_view name) {
  // The IOC's namespace, chosen once: ids derived from it are stored, so
  // it never changes.
  static const boost::uuids::name_generator_sha1 generator(
      boost::uuids::string_generator()("2f8d4a3e-7b7c-5f0e-9a51-3c1e6d0b9f42"));
  return boost::uuids::to_string(generator(name.data(), name.size()));
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace ioc
