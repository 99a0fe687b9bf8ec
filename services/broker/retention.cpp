#include "retention.hpp"

#include "ioc/core/log.hpp"

namespace ioc::broker {

std::vector<Loss> find_losses(const std::vector<PartitionOffsets>& partitions) {
  std::vector<Loss> out;
  for (const PartitionOffsets& p : partitions) {
    if (p.log_start < 0) continue;
    for (const auto& [group, committed] : p.committed) {
      if (committed >= 0 && committed < p.log_start) out.push_back({group, p.topic, p.partition, committed, p.log_start});
    }
  }
  return out;
}

RetentionWatch::RetentionWatch(prometheus::Registry& registry)
    : log_start_(prometheus::BuildGauge()
                     .Name("ioc_broker_log_start_offset")
                     .Help("Oldest offset still stored in the partition (moves up when the broker prunes)")
                     .Register(registry)),
      log_end_(prometheus::BuildGauge()
                   .Name("ioc_broker_log_end_offset")
                   .Help("Offset the next record appended to the partition will get")
                   .Register(registry)),
      committed_(prometheus::BuildGauge()
                     .Name("ioc_broker_group_committed_offset")
                     .Help("Next offset a consumer group will read, as committed")
                     .Register(registry)),
      lag_(prometheus::BuildGauge()
               .Name("ioc_broker_group_lag")
               .Help("Records between a group's committed offset and the log end")
               .Register(registry)),
      behind_start_(prometheus::BuildGauge()
                        .Name("ioc_broker_group_records_pruned_unread")
                        .Help("Records pruned by retention before the group read them (committed < log start)")
                        .Register(registry)),
      loss_events_(prometheus::BuildCounter()
                       .Name("ioc_broker_group_offset_below_log_start_total")
                       .Help("Times a group's committed offset was found below the log start (records lost to it)")
                       .Register(registry)) {}

std::vector<Loss> RetentionWatch::observe(const std::vector<PartitionOffsets>& partitions) {
  for (const PartitionOffsets& p : partitions) {
    const prometheus::Labels tp{{"topic", p.topic}, {"partition", std::to_string(p.partition)}};
    if (p.log_start >= 0) log_start_.Add(tp).Set(static_cast<double>(p.log_start));
    if (p.log_end >= 0) log_end_.Add(tp).Set(static_cast<double>(p.log_end));
    for (const auto& [group, committed] : p.committed) {
      if (committed < 0) continue;
      prometheus::Labels gl = tp;
      gl.emplace("group", group);
      committed_.Add(gl).Set(static_cast<double>(committed));
      if (p.log_end >= 0) lag_.Add(gl).Set(static_cast<double>(p.log_end - committed));
      behind_start_.Add(gl).Set(p.log_start > committed ? static_cast<double>(p.log_start - committed) : 0.0);
    }
  }
  std::vector<Loss> fresh;
  for (Loss& loss : find_losses(partitions)) {
    auto key = std::make_tuple(loss.group, loss.topic, loss.partition);
    auto it = reported_.find(key);
    if (it != reported_.end() && it->second == loss.committed) continue;
    reported_[key] = loss.committed;
    loss_events_.Add({{"group", loss.group}, {"topic", loss.topic}, {"partition", std::to_string(loss.partition)}})
        .Increment();
    log::error("consumer group fell behind retention: records were pruned before it read them",
               {{"group", loss.group},
                {"topic", loss.topic},
                {"partition", loss.partition},
                {"committed_offset", loss.committed},
                {"log_start_offset", loss.log_start},
                {"records_lost", loss.records()},
                {"hint", "the embedded broker keeps ~5 MB per partition; use real Kafka for durable retention"}});
    fresh.push_back(std::move(loss));
  }
  return fresh;
}

std::vector<PartitionOffsets> read_offsets(kafka::Admin& admin, const std::vector<kafka::TopicInfo>& topics,
                                           const std::vector<std::string>& groups, std::chrono::milliseconds timeout) {
  std::vector<PartitionOffsets> out;
  std::vector<kafka::TopicPartition> all;
  for (const kafka::TopicInfo& t : topics) {
    for (int p = 0; p < t.partitions; ++p) {
      PartitionOffsets po{t.name, p, -1, -1, {}};
      if (auto w = admin.watermarks(t.name, p, timeout); w.ok()) {
        po.log_start = w->log_start;
        po.log_end = w->log_end;
      }
      out.push_back(std::move(po));
      all.push_back({t.name, p});
    }
  }
  for (const std::string& g : groups) {
    auto committed = admin.committed(g, all, timeout);
    if (!committed.ok()) {
      log::warn("cannot read committed offsets", {{"group", g}, {"error", committed.error().message}});
      continue;
    }
    for (std::size_t i = 0; i < committed->size() && i < out.size(); ++i) {
      const kafka::TopicPartition& tp = (*committed)[i];
      if (tp.offset >= 0) out[i].committed[g] = tp.offset;
    }
  }
  return out;
}

}  // namespace ioc::broker
