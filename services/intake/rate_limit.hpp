#pragma once
/// Token-bucket rate limits, one bucket per key (an API key name or a
/// client IP). A bucket holds up to `burst` tokens and refills at `rate`
/// per second; a request takes one. Pure: time is passed in.
///
/// Memory is bounded: at most `max_keys` buckets. When the table is full,
/// buckets that have refilled completely (idle clients) are dropped; if none
/// has, a new key is let through unlimited rather than refused, so a flood
/// of spoofed sources cannot lock out a reporter (the per-key limits still
/// apply), and unlimited() counts it. Thread-safe.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include <boost/unordered/unordered_flat_map.hpp>

#include "ioc/core/clock.hpp"

namespace ioc::intake {

struct RateLimit {
  double rate = 0;   // tokens per second; 0: no limit
  double burst = 0;  // bucket size (at least 1)
  bool enabled() const { return rate > 0; }
};

class TokenBuckets {
 public:
  explicit TokenBuckets(RateLimit limit, std::size_t max_keys = 100'000) : limit_(limit), max_keys_(max_keys) {}

  struct Decision {
    bool allowed = true;
    /// When refused: whole seconds until a token is there (at least 1).
    std::int64_t retry_after_s = 0;
  };
  Decision take(std::string_view key, TimePoint now);

  std::size_t size() const;
  std::uint64_t unlimited() const;

 private:
  struct Bucket {
    double tokens;
    TimePoint last;
  };
  double refill(Bucket& b, TimePoint now) const;

  RateLimit limit_;
  std::size_t max_keys_;
  mutable std::mutex mu_;
  boost::unordered_flat_map<std::string, Bucket> buckets_;
  std::uint64_t unlimited_ = 0;
};

}  // namespace ioc::intake
