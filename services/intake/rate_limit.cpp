#include "rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace ioc::intake {

double TokenBuckets::refill(Bucket& b, TimePoint now) const {
  const double burst = std::max(1.0, limit_.burst);
  if (now > b.last) {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst, b.tokens + elapsed * limit_.rate);
    b.last = now;
  }
  return burst;
}

TokenBuckets::Decision TokenBuckets::take(std::string_view key, TimePoint now) {
  if (!limit_.enabled()) return {};
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      boost::unordered::erase_if(buckets_, [&](auto& kv) { return refill(kv.second, now) <= kv.second.tokens; });
      if (buckets_.size() >= max_keys_) {
        ++unlimited_;
        return {};
      }
    }
    it = buckets_.emplace(std::string(key), Bucket{std::max(1.0, limit_.burst), now}).first;
  }
  Bucket& b = it->second;
  refill(b, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  const double wait = (1.0 - b.tokens) / limit_.rate;
  return {false, std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait)))};
}

std::size_t TokenBuckets::size() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

std::uint64_t TokenBuckets::unlimited() const {
  std::lock_guard lock(mu_);
  return unlimited_;
}

}  // namespace ioc::intake
