#include "ioc/kafka/consumer_health.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

namespace ioc::kafka {

ConsumerHealth::ConsumerHealth(std::string noun, std::chrono::milliseconds stall_timeout, std::string unassigned,
                               ConsumerMetrics metrics, ClusterWatch* cluster)
    : unassigned_(std::move(unassigned)),
      metrics_(metrics),
      cluster_(cluster),
      progress_(std::move(noun), stall_timeout) {}

void ConsumerHealth::on_error(const ConsumerError& error) { metrics_.errors.Add({{"error", error.code}}).Increment(); }

std::optional<ClusterChange> ConsumerHealth::apply(const std::vector<TopicPartition>& positions, MonotonicTime now) {
  if (!pending_) return std::nullopt;
  const ConsumerStats stats = std::move(*pending_);
  pending_.reset();
  progress_.update(stats, positions, now);
  std::map<std::pair<std::string, std::int32_t>, prometheus::Gauge*> exported;
  for (const PartitionLag& l : progress_.lags()) {
    prometheus::Gauge& g = metrics_.lag.Add({{"topic", l.topic}, {"partition", std::to_string(l.partition)}});
    g.Set(static_cast<double>(l.lag));
    exported.emplace(std::pair{l.topic, l.partition}, &g);
  }
  for (const auto& [tp, gauge] : lag_exported_) {
    if (!exported.contains(tp)) metrics_.lag.Remove(gauge);
  }
  lag_exported_ = std::move(exported);
  metrics_.broker_reachable.Set(progress_.reachable() ? 1 : 0);
  std::optional<ClusterChange> change;
  if (cluster_ != nullptr) change = cluster_->observe(progress_.reachable(), now);
  set_not_ready(progress_.verdict());
  return change;
}

void ConsumerHealth::forget(const std::string& topic, std::int32_t partition) {
  auto it = lag_exported_.find({topic, partition});
  if (it == lag_exported_.end()) return;
  metrics_.lag.Remove(it->second);
  lag_exported_.erase(it);
}

void ConsumerHealth::set_not_ready(std::string why) {
  std::lock_guard lock(mu_);
  not_ready_ = std::move(why);
}

std::string ConsumerHealth::not_ready() const {
  if (assigned_.load() == 0) return unassigned_;
  std::lock_guard lock(mu_);
  return not_ready_;
}

}  // namespace ioc::kafka
