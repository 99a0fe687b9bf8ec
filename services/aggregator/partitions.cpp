// Aggregator, partitions: taking partitions over (restoring their
// checkpoints, telling a replaced log from a kept one), recomputing lost
// outputs, a broker that became another cluster, and giving partitions up.
#include <algorithm>

#include "aggregator.hpp"
#include "ioc/core/log.hpp"
#include "metrics.hpp"

namespace ioc::aggregator {

std::set<std::string> Aggregator::replaced_logs(const std::map<std::string, Checkpoint>& checkpoints,
                                                const std::map<std::string, kafka::Watermarks>& logs) {
  // A log never shrinks: one that ends before the checkpoint's offset was
  // replaced. Otherwise the record before that offset must be the one the
  // checkpoint saw (unless retention removed it since).
  std::set<std::string> replaced;
  std::vector<kafka::TopicPartition> probe;
  for (const auto& [unit, c] : checkpoints) {
    auto w = logs.find(unit);
    if (w == logs.end() || c.next_offset <= 0) continue;
    // Zeros: written before restored units kept their identity (a restored
    // partition's first checkpoint without new input). Unknown, not another.
    const bool identity_known = c.last_record_ms != 0 || c.last_record_id != 0;
    if (w->second.log_end < c.next_offset) {
      replaced.insert(unit);
    } else if (identity_known && c.next_offset - 1 >= w->second.log_start) {
      probe.push_back({c.topic, c.partition, c.next_offset - 1});
    }
  }
  if (probe.empty()) return replaced;
  reader_.assign(probe);
  std::set<std::string> waiting;
  for (const auto& tp : probe) waiting.insert(unit_key(tp.topic, tp.partition));
  const MonotonicTime deadline = clock_.monotonic() + kFlushTimeout;
  while (!waiting.empty() && clock_.monotonic() < deadline) {
    for (const kafka::Message& m : reader_.poll(100, std::chrono::milliseconds(100))) {
      const std::string unit = unit_key(m.topic(), m.partition());
      if (m.error() != 0 || !waiting.contains(unit)) continue;
      const Checkpoint& c = checkpoints.at(unit);
      if (m.offset() != c.next_offset - 1 ||
          record_identity(m.key(), m.value().size(), m.timestamp_ms()) != c.last_record_id) {
        replaced.insert(unit);
      }
      waiting.erase(unit);
    }
  }
  reader_.assign({});
  return replaced;
}

void Aggregator::on_cluster_changed(const kafka::ClusterChange& change) {
  // Another cluster (an in-memory broker restarted) has new logs: the
  // positions in the old ones mean nothing there, and records written into
  // the new logs below them would be skipped. Every input partition is read
  // from the start of its new log; its offsets then neither leave a gap nor
  // go back. The windows in memory stay: their results were published.
  log::warn("the broker is a new cluster (its logs were replaced): reading every input partition again from the "
            "start of its new log",
            {{"old_cluster", change.old_id}, {"new_cluster", change.new_id}, {"partitions", units_.size()}});
  std::vector<kafka::TopicPartition> starts;
  for (auto& [id, u] : units_) {
    u->next_offset = -1;  // the first record read is the new log's first
    u->catch_up_to = -1;  // a log end of the old log
    starts.push_back({u->topic, u->partition, kafka::TopicPartition::kOffsetBeginning});
  }
  if (Status s = consumer_.seek(starts, kFlushTimeout); !s.ok()) {
    log::warn("input partitions not moved to the start of the new logs", {{"error", s.error().message}});
  }
}

void Aggregator::on_assigned(std::vector<kafka::TopicPartition>& partitions) {
  if (Status s = restore_units(partitions); !s.ok()) {
    // Without its state a replica would publish partial windows as final:
    // these partitions wait without a unit (their records are read again
    // after the restore), and the restore is tried again.
    log::warn("checkpoints could not be read (a leader may be moving); trying again",
              {{"topic", cfg_.state_topic}, {"error", s.error().message}, {"partitions", partitions.size()}});
    for (const auto& tp : partitions) {
      if (auto stream = stream_of(tp.topic)) unrestored_.insert({*stream, tp.partition});
    }
    outputs_lost_ = true;
  }
}

Status Aggregator::restore_units(std::vector<kafka::TopicPartition>& partitions) {
  const MonotonicTime started = clock_.monotonic();
  std::set<std::string> replaced;
  std::vector<std::string> keys;
  for (const auto& tp : partitions) keys.push_back(unit_key(tp.topic, tp.partition));
  auto checkpoints = store_.read(keys, cfg_.restore_timeout);
  if (!checkpoints.ok()) {
    metrics_->restores.Add({{"outcome", "failed"}}).Increment(static_cast<double>(partitions.size()));
    return checkpoints.error();
  }
  auto committed = consumer_.committed(partitions, kFlushTimeout);
  std::map<std::string, kafka::Watermarks> logs;
  for (const auto& tp : partitions) {
    if (auto w = admin_.watermarks(tp.topic, tp.partition, kFlushTimeout); w.ok()) logs[unit_key(tp.topic, tp.partition)] = *w;
  }
  // A discarded checkpoint's epoch still counts: its results were published.
  std::map<std::string, std::uint32_t> epochs;
  for (const auto& [unit, c] : *checkpoints) epochs[unit] = c.epoch;
  for (const std::string& unit : replaced_logs(*checkpoints, logs)) {
    log::warn("the input log was replaced since the checkpoint (an in-memory broker restarted): its records are "
              "gone, and the state starts empty at the log start",
              {{"unit", unit}, {"checkpoint_offset", checkpoints->at(unit).next_offset}});
    checkpoints->erase(unit);
    replaced.insert(unit);
  }
  std::lock_guard state(state_mu_);
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    kafka::TopicPartition& tp = partitions[i];
    const auto stream = stream_of(tp.topic);
    if (!stream) continue;
    Unit* u = &pipeline_.add_unit(*stream, tp.partition);
    const std::int64_t committed_offset =
        committed.ok() && i < committed->size() ? (*committed)[i].offset : kafka::TopicPartition::kOffsetStored;
    std::string outcome = committed_offset >= 0 ? "lost" : "fresh";
    const auto w = logs.find(keys[i]);
    if (auto it = checkpoints->find(keys[i]); it != checkpoints->end()) {
      const Checkpoint& c = it->second;
      tp.offset = c.next_offset;
      auto fresh = pipeline_.restore(*u, c);
      if (!fresh.ok()) {
        log::error("checkpoint state is corrupt: this partition's open windows restart empty",
                   {{"unit", keys[i]}, {"error", fresh.error().message}});
        u->engine.assign_partition(tp.partition);
      } else {
        outcome = "restored";
        std::int64_t catch_up = w != logs.end() ? w->second.log_end : -1;
        if (*fresh != 0) {
          // Views added or changed since the checkpoint start from what the
          // input log still holds; the others keep their windows.
          std::string names;
          const auto& views = pipeline_.stream_views(*stream);
          for (std::size_t v = 0; v < views.size(); ++v) {
            if ((*fresh & SampleIds::view_bit(v)) != 0) names += (names.empty() ? "" : ", ") + cfg_.views[views[v]].spec.name;
          }
          const std::int64_t from = w != logs.end() ? w->second.log_start : 0;
          if (from < c.next_offset) {
            u->backfill_below = c.next_offset;
            u->backfill_views = *fresh;
            tp.offset = kafka::TopicPartition::kOffsetBeginning;
            catch_up = std::max(catch_up, c.next_offset);
          }
          log::warn("views added or changed since the checkpoint: they start from the input log's first record, "
                    "the other views keep their windows",
                    {{"unit", keys[i]}, {"views", names}, {"from_offset", from}, {"checkpoint_offset", c.next_offset}});
        }
        if (catch_up > c.next_offset || u->backfill_below >= 0) {
          u->holding = true;
          u->catch_up_to = catch_up;
        }
      }
    } else {
      if (replaced.contains(keys[i])) {
        outcome = "lost";
        tp.offset = kafka::TopicPartition::kOffsetBeginning;
      } else if (outcome == "lost") {
        log::warn("offsets were committed but no checkpoint exists (state topic emptied, e.g. by a broker restart): "
                  "open windows restart from the committed offset",
                  {{"unit", keys[i]}, {"committed_offset", committed_offset}});
      }
      u->engine.assign_partition(tp.partition);
    }
    if (u->next_offset < 0) {
      // No checkpoint: reading starts at the committed offset, else at the
      // log start (auto.offset.reset=earliest). Every record below it is in
      // published results or gone, so that is the unit's position: it is
      // checkpointed (and committed) even while the partition stays empty,
      // and records the broker removes before they are read count as pruned.
      if (tp.offset >= 0) {
        u->next_offset = tp.offset;
      } else if (committed_offset >= 0 && !replaced.contains(keys[i])) {
        u->next_offset = committed_offset;
      } else if (w != logs.end()) {
        u->next_offset = w->second.log_start;
      }
    }
    if (auto e = epochs.find(keys[i]); e != epochs.end()) u->epoch = std::max(u->epoch, e->second + 1);
    if (w != logs.end()) u->assigned_log_end = w->second.log_end;
    metrics_->restores.Add({{"outcome", outcome}}).Increment();
    log::info("partition assigned", {{"topic", tp.topic},
                                     {"partition", tp.partition},
                                     {"state", outcome},
                                     {"start_offset", tp.offset},
                                     {"catch_up_to", u->catch_up_to},
                                     {"epoch", static_cast<std::int64_t>(u->epoch)}});
  }
  const double took = std::chrono::duration<double>(clock_.monotonic() - started).count();
  metrics_->restore_seconds.Set(took);
  metrics_->assigned.Set(static_cast<double>(units_.size()));
  health_.set_assigned(units_.size());
  return {};
}

bool Aggregator::rewind() {
  // Outputs since the last checkpoints were lost: librdkafka failed them
  // (a topic that seemed gone while brokers restarted, a finite
  // delivery_timeout). What a restart would do, without going away: every
  // unit restores its checkpoint and reads on from its offset under a new
  // epoch, so the recomputed results rank above everything published so
  // far. The producer keeps its queue: it delivers in order per partition,
  // so nothing older lands after what is recomputed.
  const MonotonicTime now = clock_.monotonic();
  if (!health_.reachable() || now < next_rewind_) return false;
  std::set<UnitId> ids = unrestored_;
  for (const UnitId& id : pipeline_.unit_ids()) ids.insert(id);
  std::vector<kafka::TopicPartition> parts;
  for (const UnitId& id : ids) parts.push_back({topic_of(id.first), id.second, 0});
  auto committed = consumer_.committed(parts, kFlushTimeout);
  if (!committed.ok()) return false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::int64_t c = i < committed->size() ? (*committed)[i].offset : -1;
    parts[i].offset = c >= 0 ? c : kafka::TopicPartition::kOffsetBeginning;  // no checkpoint: nothing committed past it
  }
  {
    std::lock_guard state(state_mu_);
    for (const auto& tp : parts) pipeline_.drop_unit({*stream_of(tp.topic), tp.partition});
  }
  delivery_failures_seen_ = producer_.failed();
  outputs_lost_ = false;
  Status s = restore_units(parts);
  if (s.ok()) s = consumer_.seek(parts, kFlushTimeout);
  if (!s.ok()) {
    // Tried again at the next poll: until then records of these partitions
    // find no unit and are read again after the seek.
    log::warn("checkpoints not restored yet; trying again in 1 s", {{"error", s.error().message}});
    std::lock_guard state(state_mu_);
    for (const auto& tp : parts) pipeline_.drop_unit({*stream_of(tp.topic), tp.partition});
    unrestored_ = std::move(ids);
    outputs_lost_ = true;
    next_rewind_ = now + std::chrono::seconds(1);
    return false;
  }
  unrestored_.clear();
  metrics_->rewinds.Increment();
  log::warn("lost outputs are being recomputed from the last checkpoints", {{"partitions", parts.size()}});
  return true;
}

void Aggregator::on_revoked(const std::vector<kafka::TopicPartition>& partitions) {
  std::vector<UnitId> ids;
  for (const auto& tp : partitions) {
    if (auto s = stream_of(tp.topic)) ids.emplace_back(*s, tp.partition);
  }
  checkpoint(ids, true);
  for (const UnitId& id : ids) unrestored_.erase(id);
  std::lock_guard state(state_mu_);
  for (const UnitId& id : ids) {
    if (pipeline_.find(id) == nullptr) continue;
    health_.forget(topic_of(id.first), id.second);
    pipeline_.drop_unit(id);
  }
  metrics_->assigned.Set(static_cast<double>(units_.size()));
  health_.set_assigned(units_.size());
}

}  // namespace ioc::aggregator
