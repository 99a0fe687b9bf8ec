#pragma once
/// SampleIds: maps the 64-bit record references the window engine keeps as
/// evidence back to report ids, for records that may still be in an open
/// window. Entries older than the purge horizon are dropped in arrival order.
/// Not thread-safe: owned by the poll thread.

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>

namespace ioc::aggregator {

/// A record reference from Kafka coordinates (offsets below 2^40). Never 0,
/// which the window engine reads as "no reference".
inline std::uint64_t record_ref(std::int32_t partition, std::int64_t offset) {
  return ((static_cast<std::uint64_t>(partition) + 1) << 40) | (static_cast<std::uint64_t>(offset) & ((1ULL << 40) - 1));
}

class SampleIds {
 public:
  void add(std::uint64_t ref, std::int64_t event_time_ms, std::string id) {
    if (ids_.insert_or_assign(ref, std::move(id)).second) order_.emplace_back(event_time_ms, ref);
  }
  /// The id for `ref`, or "" when it was purged.
  const std::string& find(std::uint64_t ref) const {
    static const std::string kNone;
    auto it = ids_.find(ref);
    return it == ids_.end() ? kNone : it->second;
  }
  /// Drops entries with event time before `horizon_ms` (no open window can
  /// hold them), oldest arrivals first.
  void purge_before(std::int64_t horizon_ms) {
    while (!order_.empty() && order_.front().first < horizon_ms) {
      ids_.erase(order_.front().second);
      order_.pop_front();
    }
  }
  std::size_t size() const { return ids_.size(); }
  /// Calls f(ref, time_ms, id) for every entry, oldest first.
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& [time, ref] : order_) f(ref, time, ids_.at(ref));
  }

 private:
  boost::unordered_flat_map<std::uint64_t, std::string> ids_;
  std::deque<std::pair<std::int64_t, std::uint64_t>> order_;
};

}  // namespace ioc::aggregator
