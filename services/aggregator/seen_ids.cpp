#include "seen_ids.hpp"

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/string_generator.hpp>

namespace ioc::aggregator {

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

SeenIds::Key from_bytes(const std::uint8_t* b) {
  SeenIds::Key k;
  for (int i = 0; i < 8; ++i) k.hi = (k.hi << 8) | b[i];
  for (int i = 8; i < 16; ++i) k.lo = (k.lo << 8) | b[i];
  return k;
}

}  // namespace

SeenIds::Key SeenIds::key_of(std::string_view id) {
  if (id.size() == 36) {
    std::uint8_t b[16];
    std::size_t n = 0;
    bool ok = true;
    for (std::size_t i = 0; i < 36 && ok; ++i) {
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        ok = id[i] == '-';
        continue;
      }
      const int h = hex(id[i]);
      const int l = i + 1 < 36 ? hex(id[i + 1]) : -1;
      ok = h >= 0 && l >= 0;
      if (ok) b[n++] = static_cast<std::uint8_t>(h * 16 + l);
      ++i;
    }
    if (ok && n == 16) return from_bytes(b);
  }
  // Fixed forever: keys are stored in checkpoints.
  static const boost::uuids::name_generator_sha1 generator(
      boost::uuids::string_generator()("6b0f3c2e-91d4-5a7e-8c3b-2f1e0d9a4b67"));
  const boost::uuids::uuid u = generator(id.data(), id.size());
  return from_bytes(u.data);
}

bool SeenIds::first(Key key, std::int64_t received_ms) {
  if (window_ <= 0) return true;
  if (received_ms > newest_) {
    newest_ = received_ms;
    while (!order_.empty() && order_.front().received_ms < newest_ - window_) {
      ids_.erase(order_.front().key);
      order_.pop_front();
    }
  }
  if (!ids_.insert(key).second) return false;
  order_.push_back(Entry{received_ms, key});
  return true;
}

}  // namespace ioc::aggregator
