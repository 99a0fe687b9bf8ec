#include "ioc/window/watermark.hpp"

#include <algorithm>

#include "ioc/window/spec.hpp"

namespace ioc::window {

WatermarkTracker::WatermarkTracker(std::int64_t out_of_orderness_ms, std::int64_t idle_timeout_ms)
    : out_of_orderness_(out_of_orderness_ms), idle_timeout_(idle_timeout_ms) {}

WatermarkTracker::Partition& WatermarkTracker::find_or_add(std::int32_t partition) {
  if (cached_ < partitions_.size() && partitions_[cached_].id == partition) return partitions_[cached_];
  auto it = std::lower_bound(partitions_.begin(), partitions_.end(), partition,
                             [](const Partition& p, std::int32_t id) { return p.id < id; });
  if (it == partitions_.end() || it->id != partition) {
    Partition p;
    p.id = partition;
    p.last_event_now_ms = now_;
    it = partitions_.insert(it, p);
  }
  cached_ = static_cast<std::size_t>(it - partitions_.begin());
  return *it;
}

void WatermarkTracker::assign(std::int32_t partition, std::int64_t frontier_ms) {
  Partition& p = find_or_add(partition);
  p.frontier_ms = std::max(p.frontier_ms, frontier_ms);
  p.last_event_now_ms = now_;  // a fresh assignment holds the watermark until it idles
}

void WatermarkTracker::revoke(std::int32_t partition) {
  auto it = std::lower_bound(partitions_.begin(), partitions_.end(), partition,
                             [](const Partition& p, std::int32_t id) { return p.id < id; });
  if (it != partitions_.end() && it->id == partition) partitions_.erase(it);
  cached_ = 0;
}

std::int64_t WatermarkTracker::observe(std::int32_t partition, std::int64_t event_time_ms) {
  Partition& p = find_or_add(partition);
  p.last_event_now_ms = now_;
  last_any_event_now_ = now_;
  if (event_time_ms > p.max_event_ms) {
    p.max_event_ms = event_time_ms;
    // Event time moves the watermark at once, so that whether a record is
    // late depends on the records before it, not on when advance() ran
    // (poll batches, a replay that publishes nothing until caught up).
    bool any_active = false;
    std::int64_t min_active = kMaxEventTimeMs;
    for (const auto& q : partitions_) {
      if (!is_active(q)) continue;
      any_active = true;
      min_active = std::min(min_active, q.max_event_ms == kNoWatermark ? kNoWatermark : q.max_event_ms - out_of_orderness_);
    }
    if (any_active) watermark_ = std::max(watermark_, min_active);
  }
  return std::max(watermark_, p.frontier_ms);
}

bool WatermarkTracker::is_active(const Partition& p) const {
  return idle_timeout_ == 0 || now_ - p.last_event_now_ms < idle_timeout_;
}

std::size_t WatermarkTracker::active_partitions() const {
  return static_cast<std::size_t>(
      std::count_if(partitions_.begin(), partitions_.end(), [&](const Partition& p) { return is_active(p); }));
}

std::int64_t WatermarkTracker::advance(std::int64_t now_ms) {
  // Past the last valid event time by more than any window, so every window can close.
  now_ms = std::clamp(now_ms, kMinEventTimeMs, kMaxEventTimeMs + 4 * kMaxDurationMs);
  if (!now_known_) {
    // Events observed before the first call were seen "now".
    now_known_ = true;
    now_ = now_ms;
    last_any_event_now_ = now_ms;
    for (auto& p : partitions_) p.last_event_now_ms = now_ms;
  }
  now_ = std::max(now_, now_ms);

  bool any_active = false;
  std::int64_t min_active = kMaxEventTimeMs;
  std::int64_t max_all = kNoWatermark;
  for (const auto& p : partitions_) {
    const std::int64_t wm = p.max_event_ms == kNoWatermark ? kNoWatermark : p.max_event_ms - out_of_orderness_;
    max_all = std::max(max_all, wm);
    if (is_active(p)) {
      any_active = true;
      min_active = std::min(min_active, wm);
    }
  }
  std::int64_t candidate = watermark_;
  if (any_active) {
    candidate = min_active;
  } else if (idle_timeout_ > 0 && (!partitions_.empty() || now_ - last_any_event_now_ >= idle_timeout_)) {
    // Nothing delivered for idle_timeout: follow processing time so quiet windows close.
    candidate = std::max(max_all, now_ - out_of_orderness_);
  }
  watermark_ = std::max(watermark_, candidate);
  return watermark_;
}

WatermarkTracker::State WatermarkTracker::state() const {
  return State{partitions_, watermark_, now_, now_known_, last_any_event_now_};
}

void WatermarkTracker::set_state(State s) {
  partitions_ = std::move(s.partitions);
  std::sort(partitions_.begin(), partitions_.end(),
            [](const Partition& a, const Partition& b) { return a.id < b.id; });
  watermark_ = s.watermark;
  now_ = s.now;
  now_known_ = s.now_known;
  last_any_event_now_ = s.last_any_event_now;
  cached_ = 0;
}

}  // namespace ioc::window
