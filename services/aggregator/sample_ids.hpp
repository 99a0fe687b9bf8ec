#pragma once
/// SampleIds: maps the 64-bit record references the window engine keeps as
/// evidence back to report ids, for records that may still be in a window
/// that has not emitted its final result. Each entry carries the point after
/// which no window holding it can emit (a "close" time, see
/// Pipeline::advance); entries are dropped once it has passed, in arrival
/// order. Not thread-safe: owned by the poll thread.

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <deque>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace ioc::aggregator {

/// A record reference from Kafka coordinates (offsets below 2^40). Never 0,
/// which the window engine reads as "no reference".
inline std::uint64_t record_ref(std::int32_t partition, std::int64_t offset) {
  return ((static_cast<std::uint64_t>(partition) + 1) << 40) | (static_cast<std::uint64_t>(offset) & ((1ULL << 40) - 1));
}

class SampleIds {
 public:
  /// Views (bit i: local view i; views from 63 on share bit 63) whose
  /// frontier an entry waits for.
  using ViewMask = std::uint64_t;
  static constexpr ViewMask kAllViews = ~ViewMask{0};
  static ViewMask view_bit(std::size_t view) { return ViewMask{1} << (view < 63 ? view : 63); }

  /// Remembers `id` for `ref` until the frontier of every view in `views`
  /// has passed `close_ms` (see purge_closed()).
  void add(std::uint64_t ref, std::int64_t close_ms, std::string_view id, ViewMask views = kAllViews) {
    auto [it, inserted] = ids_.try_emplace(ref, id);
    if (inserted) {
      order_.push_back(Entry{close_ms, ref, views});
    } else {
      it->second.assign(id);
    }
  }
  /// The id for `ref`, or "" when it was purged.
  const std::string& find(std::uint64_t ref) const {
    static const std::string kNone;
    auto it = ids_.find(ref);
    return it == ids_.end() ? kNone : it->second;
  }
  /// Drops entries whose close time is <= the frontier of each of their
  /// views (no window holding them can emit again); `frontier_ms[i]` is
  /// view i's. Oldest arrivals first: an entry that closes later holds the
  /// ones behind it back (by about the out-of-orderness of arrivals), it
  /// never drops one early.
  void purge_closed(std::span<const std::int64_t> frontier_ms) {
    while (!order_.empty()) {
      const Entry& e = order_.front();
      for (std::size_t v = 0; v < frontier_ms.size(); ++v) {
        if ((e.views & view_bit(v)) != 0 && frontier_ms[v] < e.close_ms) return;
      }
      ids_.erase(e.ref);
      order_.pop_front();
    }
  }
  std::size_t size() const { return ids_.size(); }
  /// Calls f(ref, close_ms, id) for every entry, oldest first.
  template <typename F>
  void for_each(F&& f) const {
    for (const Entry& e : order_) f(e.ref, e.close_ms, ids_.at(e.ref));
  }

 private:
  struct Entry {
    std::int64_t close_ms;
    std::uint64_t ref;
    ViewMask views;
  };
  boost::unordered_flat_map<std::uint64_t, std::string> ids_;
  std::deque<Entry> order_;
};

}  // namespace ioc::aggregator
