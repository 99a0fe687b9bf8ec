#pragma once
/// SeenIds: the record ids one input partition has counted, so that a
/// second record under an id (a producer's retry, a spool replayed twice, a
/// tool) is counted as a duplicate, in no view. An id is remembered for
/// `window` of the partition's ingest time: it is forgotten once a record
/// received more than `window` after it has been read (in arrival order, so
/// an id may stay a little longer). What is decided depends only on the
/// records in offset order, so a replay from a checkpoint decides the same.
///
/// An id is kept as 16 bytes: a lower-case canonical UUID (every id the
/// intake gives) as its value, any other id as the SHA-1 name UUID of it
/// (finding another id with the same one is beyond reach). Not thread-safe:
/// owned by the poll thread.

#include <boost/unordered/unordered_flat_set.hpp>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <string_view>

namespace ioc::aggregator {

class SeenIds {
 public:
  struct Key {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    friend bool operator==(const Key&, const Key&) = default;
  };
  /// The 16 bytes `id` is kept as.
  static Key key_of(std::string_view id);

  /// `window_ms` 0: nothing is remembered, every record counts.
  explicit SeenIds(std::int64_t window_ms) : window_(window_ms) {}

  /// True the first time `id` comes (remembered from now on), false for a
  /// duplicate. An empty id is never a duplicate.
  bool first(std::string_view id, std::int64_t received_ms) {
    if (window_ <= 0 || id.empty()) return true;
    return first(key_of(id), received_ms);
  }
  bool first(Key key, std::int64_t received_ms);

  std::size_t size() const { return order_.size(); }
  /// Bytes held (entries and the set's slots): the cost of the window.
  std::size_t bytes() const { return ids_.bucket_count() * sizeof(Key) + order_.size() * sizeof(Entry); }

  /// Oldest first, for a checkpoint; restoring adds them back in that order.
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& e : order_) f(e.key, e.received_ms);
  }
  void clear() {
    ids_.clear();
    order_.clear();
    newest_ = kNever;
  }

 private:
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept { return k.hi ^ (k.lo * 0x9e3779b97f4a7c15ULL); }
  };
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();
  struct Entry {
    std::int64_t received_ms;
    Key key;
  };
  std::int64_t window_;
  std::int64_t newest_ = kNever;
  std::deque<Entry> order_;
  boost::unordered_flat_set<Key, KeyHash> ids_;
};

}  // namespace ioc::aggregator
