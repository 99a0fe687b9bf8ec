#include "reader.hpp"

#include <algorithm>
#include <thread>

#include "ioc/core/log.hpp"
#include "ioc/kafka/admin.hpp"

namespace ioc::wall {

namespace {
constexpr auto kAdminTimeout = std::chrono::seconds(5);
}

TopicReader::TopicReader(const Config& cfg, SharedState& shared, const Clock& clock, Metrics& metrics)
    : cfg_(cfg),
      shared_(shared),
      clock_(clock),
      metrics_(metrics),
      topics_{{cfg.aggregates_topic, Topic::kAggregates},
              {cfg.alerts_topic, Topic::kAlerts},
              {cfg.reports_topic, Topic::kReports}} {}

std::vector<kafka::TopicPartition> TopicReader::plan(const std::atomic<bool>& stop) {
  kafka::Admin admin(cfg_.common.kafka);
  std::map<std::string, int, std::less<>> partitions;
  while (!stop.load()) {
    Result<std::vector<kafka::TopicInfo>> listed = admin.topics(kAdminTimeout);
    if (listed.ok()) {
      for (const kafka::TopicInfo& t : *listed) partitions[t.name] = t.partitions;
      break;
    }
    log::warn("waiting for the cluster to list topics", {{"error", listed.error().message}});
  }
  std::vector<kafka::TopicPartition> out;
  for (const auto& [topic, kind] : topics_) {
    const auto found = partitions.find(topic);
    const int n = found == partitions.end() ? 0 : found->second;
    if (n == 0 && !stop.load()) log::warn("topic not found; the wall shows nothing from it", {{"topic", topic}});
    for (int p = 0; p < n && !stop.load(); ++p) {
      Result<kafka::Watermarks> w = admin.watermarks(topic, p, kAdminTimeout);
      while (!w.ok() && !stop.load()) {
        log::warn("waiting for partition offsets", {{"topic", topic}, {"partition", p}, {"error", w.error().message}});
        w = admin.watermarks(topic, p, kAdminTimeout);
      }
      if (!w.ok()) break;
      std::int64_t start = kafka::TopicPartition::kOffsetBeginning;
      // Only the latest reports are shown: read back the last few.
      if (kind == Topic::kReports) start = std::max(w->log_start, w->log_end - cfg_.restore_reports_per_partition);
      const std::int64_t first = start == kafka::TopicPartition::kOffsetBeginning ? w->log_start : start;
      if (w->log_end > first) pending_[{topic, p}] = w->log_end;
      out.push_back({topic, p, start, {}});
    }
  }
  return out;
}

void TopicReader::run(const std::atomic<bool>& stop) {
  kafka::Consumer::Options o;
  o.group_id = cfg_.common.service;  // required by the client; never joined, never committed
  o.stats_interval = std::chrono::milliseconds(1000);
  kafka::Consumer consumer(cfg_.common.kafka, o, this);
  restore_started_ = clock_.monotonic();
  const std::vector<kafka::TopicPartition> assignment = plan(stop);
  if (stop.load()) return;
  broker_connected_.store(true, std::memory_order_release);
  metrics_.broker_connected.Set(1);
  log::info("restoring the wall from the topics",
            {{"partitions", static_cast<std::int64_t>(assignment.size())},
             {"partitions_to_read", static_cast<std::int64_t>(pending_.size())},
             {"restore_window_ms", static_cast<std::int64_t>(cfg_.restore_window.count())}});
  consumer.assign(assignment);
  check_restored();
  while (!stop.load()) {
    std::vector<kafka::Message> batch = consumer.poll(2000, std::chrono::milliseconds(100));
    if (batch.empty()) continue;
    const TimePoint now = clock_.now();
    {
      std::lock_guard lock(shared_.mu);
      for (const kafka::Message& m : batch) handle(m, now);
    }
    if (!restored()) {
      for (const kafka::Message& m : batch) {
        auto p = pending_.find({std::string(m.topic()), m.partition()});
        if (p != pending_.end() && m.offset() + 1 >= p->second) pending_.erase(p);
      }
      check_restored();
    }
  }
  consumer.close(std::chrono::seconds(2));
}

void TopicReader::handle(const kafka::Message& m, TimePoint now) {
  const auto t = topics_.find(m.topic());
  if (t == topics_.end()) return;
  const std::int64_t ts = m.timestamp_ms();
  // When the record was written; a clock ahead of ours counts as now.
  const TimePoint arrival = ts > 0 ? std::min(from_epoch_ms(ts), now) : now;
  const std::string topic(to_string(t->second));
  if (t->second != Topic::kAlerts && ts > 0 && arrival < now - cfg_.restore_window) {
    metrics_.record(topic, "too_old").Increment();
    return;
  }
  const Outcome outcome = ingest(shared_.state, t->second, m.value(), arrival, &error_);
  metrics_.record(topic, to_string(outcome)).Increment();
  if (outcome == Outcome::kMalformed || outcome == Outcome::kInvalid) {
    log::warn("record not shown on the wall", {{"topic", m.topic()},
                                               {"partition", m.partition()},
                                               {"offset", m.offset()},
                                               {"outcome", to_string(outcome)},
                                               {"error", outcome == Outcome::kMalformed ? error_ : "unusable"}});
  }
}

void TopicReader::check_restored() {
  if (restored() || !pending_.empty()) return;
  restored_.store(true, std::memory_order_release);
  metrics_.restored.Set(1);
  Sizes s;
  {
    std::lock_guard lock(shared_.mu);
    s = shared_.state.sizes();
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.monotonic() - restore_started_);
  log::info("wall restored from the topics", {{"took_ms", static_cast<std::int64_t>(took.count())},
                                              {"windows", static_cast<std::int64_t>(s.windows)},
                                              {"stations", static_cast<std::int64_t>(s.stations)},
                                              {"active_alerts", static_cast<std::int64_t>(s.active_alerts)},
                                              {"reports", static_cast<std::int64_t>(s.reports)}});
}

void TopicReader::on_error(const kafka::ConsumerError& error) {
  metrics_.consumer_errors.Add({{"error", error.code}}).Increment();
  if (error.code == "ALL_BROKERS_DOWN") {
    broker_connected_.store(false, std::memory_order_release);
    metrics_.broker_connected.Set(0);
  }
}

void TopicReader::on_stats(const kafka::ConsumerStats& stats) {
  const bool up = stats.brokers_up > 0;
  if (up != broker_connected()) log::info(up ? "broker connection back" : "no broker connection");
  broker_connected_.store(up, std::memory_order_release);
  metrics_.broker_connected.Set(up ? 1 : 0);
  // A partition the client has fetched to its end, which now ends before
  // the offset still to be reached, lost its records (an embedded broker
  // restarted, its data gone): nothing more will come to restore.
  for (const kafka::PartitionStats& p : stats.partitions) {
    auto i = pending_.find({p.topic, p.partition});
    if (i == pending_.end() || p.high_watermark < 0) continue;
    if (p.high_watermark < i->second && p.fetch_offset >= p.high_watermark) pending_.erase(i);
  }
  check_restored();
}

}  // namespace ioc::wall
