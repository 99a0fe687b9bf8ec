#pragma once
/// SeenIds: the record ids one input partition has counted, so that a
/// second record under an id (a producer's retry, a spool replayed twice, a
/// tool) is counted as a duplicate, in no view. An id is remembered for
/// `window` of the partition's ingest time: it is forgotten once a record
/// received more than `window` after it has been read (in arrival order, so
/// an id may stay a little longer). What is decided depends only on the
/// records in offset order, so a replay from a checkpoint decides the same.
/// Not thread-safe: owned by the poll thread.

#include <boost/unordered/unordered_flat_set.hpp>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace ioc::aggregator {

class SeenIds {
 public:
  /// `window_ms` 0: nothing is remembered, every record counts.
  explicit SeenIds(std::int64_t window_ms) : window_(window_ms) {}

  /// True the first time `id` comes (remembered from now on), false for a
  /// duplicate. An empty id is never a duplicate.
  bool first(std::string_view id, std::int64_t received_ms) {
    if (window_ <= 0 || id.empty()) return true;
    if (received_ms > newest_) {
      newest_ = received_ms;
      while (!order_.empty() && order_.front().received_ms < newest_ - window_) {
        ids_.erase(std::string_view(order_.front().id));
        order_.pop_front();
      }
    }
    if (ids_.contains(id)) return false;
    // std::deque keeps its elements in place as it grows and shrinks at the
    // ends: the set's views of their strings stay valid.
    order_.push_back(Entry{received_ms, std::string(id)});
    ids_.insert(std::string_view(order_.back().id));
    return true;
  }

  std::size_t size() const { return order_.size(); }
  /// Bytes held (ids, their times, the set's slots): the cost of the window.
  std::size_t bytes() const {
    std::size_t n = ids_.bucket_count() * sizeof(std::string_view) + order_.size() * sizeof(Entry);
    for (const auto& e : order_) n += e.id.capacity() > sizeof(std::string) ? e.id.capacity() : 0;
    return n;
  }

  /// Oldest first, for a checkpoint; restoring adds them back in that order.
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& e : order_) f(std::string_view(e.id), e.received_ms);
  }
  void clear() {
    ids_.clear();
    order_.clear();
    newest_ = kNever;
  }

 private:
  static constexpr std::int64_t kNever = INT64_MIN;
  struct Entry {
    std::int64_t received_ms;
    std::string id;
  };
  std::int64_t window_;
  std::int64_t newest_ = kNever;
  std::deque<Entry> order_;
  boost::unordered_flat_set<std::string_view> ids_;
};

}  // namespace ioc::aggregator
