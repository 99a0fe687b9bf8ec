#include "delivery_queue.hpp"

#include <algorithm>

namespace ioc::alerter {

DeliveryQueue::Push DeliveryQueue::push(const AlertEvent& e, bool resend) {
  if (auto it = entries_.find(e.fingerprint); it != entries_.end()) {
    it->second.event = e;
    it->second.seq = next_seq_++;
    it->second.resend = it->second.resend && resend;
    return Push::kReplaced;
  }
  if (entries_.size() >= options_.max_entries && e.state != AlertEvent::State::kResolved) {
    if (resend) return Push::kDropped;
    // A first notification outranks a re-send of something Alertmanager already has.
    auto victim = std::find_if(entries_.begin(), entries_.end(), [](const auto& kv) {
      return kv.second.resend && kv.second.event.state == AlertEvent::State::kFiring;
    });
    if (victim == entries_.end()) return Push::kDropped;
    entries_.erase(victim);
  }
  entries_.emplace(e.fingerprint, Entry{e, next_seq_++, resend});
  return Push::kQueued;
}

std::vector<AlertEvent> DeliveryQueue::take(TimePoint now, std::size_t max) {
  in_flight_.clear();
  std::vector<AlertEvent> out;
  if (entries_.empty() || now < retry_at_) return out;
  std::vector<const std::pair<const std::string, Entry>*> order;
  order.reserve(entries_.size());
  for (const auto& kv : entries_) order.push_back(&kv);
  const std::size_t n = std::min(max, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
                    [](const auto* a, const auto* b) { return a->second.seq < b->second.seq; });
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(order[i]->second.event);
    in_flight_.emplace_back(order[i]->first, order[i]->second.seq);
  }
  return out;
}

void DeliveryQueue::done(bool ok, TimePoint now) {
  if (ok) {
    failures_ = 0;
    retry_at_ = {};
    for (const auto& [fp, seq] : in_flight_) {
      auto it = entries_.find(fp);
      if (it != entries_.end() && it->second.seq == seq) entries_.erase(it);  // not replaced meanwhile
    }
  } else if (!in_flight_.empty()) {
    ++failures_;
    Millis backoff = options_.backoff_min;
    for (int i = 1; i < failures_ && backoff < options_.backoff_max; ++i) backoff *= 2;
    retry_at_ = now + std::min(backoff, options_.backoff_max);
  }
  in_flight_.clear();
}

std::optional<TimePoint> DeliveryQueue::next_attempt() const {
  if (entries_.empty()) return std::nullopt;
  return retry_at_;
}

}  // namespace ioc::alerter
