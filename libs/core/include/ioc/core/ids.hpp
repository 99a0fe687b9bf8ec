#pragma once
/// Time-ordered unique ids (UUID version 7, RFC 9562) for reports and other
/// records: sortable by creation time, unique across replicas without
/// coordination. Thread-safe.

#include <array>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>

#include "ioc/core/clock.hpp"

namespace ioc {

class IdGenerator {
 public:
  /// `seed` makes the random part reproducible in tests; 0 seeds from std::random_device.
  explicit IdGenerator(const Clock& clock, std::uint64_t seed = 0);

  /// A new UUIDv7 in canonical text form (36 chars, lower-case hex).
  std::string next();

 private:
  const Clock& clock_;
  std::mutex mu_;
  std::mt19937_64 rng_;
  std::int64_t last_ms_ = 0;
  std::uint16_t counter_ = 0;  // 12-bit monotonic counter within one millisecond
};

/// The UUID (version 5, RFC 9562: SHA-1 of a name in a namespace) that
/// `name` always maps to, in the IOC's own namespace: an id that every
/// replica and every restart derives alike (e.g. from a client and its
/// Idempotency-Key). Canonical text form.
std::string name_uuid(std::string_view name);

/// True when `s` is a canonical UUID string (any version).
bool is_uuid(std::string_view s);

}  // namespace ioc
