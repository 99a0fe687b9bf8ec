#include "aggregator.hpp"

#include <algorithm>
#include <limits>

#include "ioc/codec/codec.hpp"
#include "ioc/core/check.hpp"
#include "ioc/core/config_error.hpp"
#include "ioc/core/log.hpp"
#include "ioc/core/time_format.hpp"
#include "metrics.hpp"

namespace ioc::aggregator {

namespace {

constexpr auto kCommitTimeout = std::chrono::seconds(5);

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

// ---------------------------------------------------------------- partition state

struct Aggregator::PartitionState {
  explicit PartitionState(window::Engine e) : engine(std::move(e)) {}
  window::Engine engine;
  SampleIds samples;
  /// From the last commit (CommitMark): windows that ended (plus lateness)
  /// before `frontier` were final before a restart or rebalance, and records
  /// below `resume_read` were processed then.
  std::optional<std::int64_t> frontier;
  std::optional<std::int64_t> resume_read;
  /// Keys whose "latest final" gauge this partition set, and that window's end.
  std::set<window::GroupKey> gauge_keys;
  std::int64_t last_final_end = std::numeric_limits<std::int64_t>::min();
};

// ---------------------------------------------------------------- Aggregator

Aggregator::Aggregator(const Config& cfg, const Registry& registry, const Clock& clock, prometheus::Registry& metrics)
    : cfg_(cfg),
      registry_(registry),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(metrics)),
      producer_(cfg.common.kafka, kafka::Producer::Options{.delivery_timeout = cfg.delivery_timeout}),
      consumer_(cfg.common.kafka, {.group_id = cfg.group_id, .stats_interval = cfg.stats_interval}, this) {
  spec_.name = cfg.view_name;
  auto w = window::WindowSpec::tumbling(cfg.window);
  if (!w.ok()) throw ConfigError("settings", "aggregator.window", w.error().message);
  spec_.window = *w;
  spec_.aggregations = {window::AggregationSpec::count("count")};
  spec_.allowed_lateness = cfg.allowed_lateness;
  spec_.out_of_orderness = cfg.out_of_orderness;
  spec_.idle_timeout = cfg.idle_timeout;
  spec_.emit = {cfg.emit, cfg.update_interval};
  spec_.sample_refs = cfg.sample_ids;
  spec_.keep_last_final = false;
  if (Status s = window::validate(spec_); !s.ok()) throw ConfigError("settings", "aggregator", s.error().message);
  consumer_.subscribe({cfg.input_topic});
}

Aggregator::~Aggregator() = default;

metrics::Readiness Aggregator::readiness() const {
  if (assigned_count_.load() == 0) {
    return {false, "no partitions of " + cfg_.input_topic + " assigned (consumer group " + cfg_.group_id + ")"};
  }
  std::lock_guard lock(ready_mu_);
  if (!not_ready_.empty()) return {false, not_ready_};
  return {};
}

void Aggregator::on_stats(const kafka::ConsumerStats& stats) { pending_stats_ = stats; }

void Aggregator::apply_stats(const kafka::ConsumerStats& stats) {
  const bool reachable = stats.brokers_up > 0;
  std::int64_t waiting = 0;
  std::int64_t read = 0;
  std::set<std::int32_t> exported;
  for (const kafka::PartitionStats& st : stats.partitions) {
    const std::int32_t p = st.partition;
    if (st.topic != cfg_.input_topic || !partitions_.contains(p)) continue;
    // Never committed: the position is where fetching started. Every record
    // fetched before these statistics were taken has been handled by now.
    if (tracker_.next_offset(p) < 0 && st.fetch_offset >= 0) tracker_.start(p, st.fetch_offset);
    const std::int64_t position = tracker_.next_offset(p);
    if (!reachable || st.high_watermark < 0 || position < 0) continue;  // unknown: no gauge rather than a stale one
    const std::int64_t lag = std::max<std::int64_t>(0, st.high_watermark - position);
    metrics_->lag.Add({{"topic", cfg_.input_topic}, {"partition", std::to_string(p)}}).Set(static_cast<double>(lag));
    exported.insert(p);
    waiting += lag;
    read += position;
  }
  for (std::int32_t p : lag_exported_) {
    if (!exported.contains(p)) {
      metrics_->lag.Remove(&metrics_->lag.Add({{"topic", cfg_.input_topic}, {"partition", std::to_string(p)}}));
    }
  }
  lag_exported_ = std::move(exported);
  metrics_->broker_reachable.Set(reachable ? 1 : 0);
  broker_reachable_ = reachable;
  const auto now = std::chrono::steady_clock::now();
  if (waiting == 0 || read != last_read_) last_progress_ = now;
  last_read_ = read;
  std::string verdict;
  if (!reachable) {
    verdict = "no broker connection (" + std::to_string(stats.brokers_known) + " brokers known)";
  } else if (now - last_progress_ >= cfg_.stall_timeout) {
    verdict = "not consuming: " + std::to_string(waiting) + " records waiting and no progress for " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - last_progress_).count()) + "s";
  }
  std::lock_guard lock(ready_mu_);
  not_ready_ = std::move(verdict);
}

prometheus::Labels Aggregator::group_labels(window::GroupKey key) const {
  const std::size_t ncat = registry_.categories().size();
  return {{"view", cfg_.view_name},
          {"district", registry_.district(static_cast<Registry::Index>(key / ncat)).code},
          {"category", registry_.category(static_cast<Registry::Index>(key % ncat)).code}};
}

std::int64_t Aggregator::window_end(std::int64_t t) const {
  const std::int64_t size = cfg_.window.count();
  return (floor_div(t, size) + 1) * size;
}

void Aggregator::on_assigned(std::vector<kafka::TopicPartition>& partitions) {
  auto committed = consumer_.committed(partitions, kCommitTimeout);
  if (!committed.ok()) log::warn("committed offsets unknown", {{"error", committed.error().message}});
  const std::int64_t bound = to_epoch_ms(clock_.now()) + cfg_.max_future_skew.count();
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    const std::int32_t p = partitions[i].partition;
    auto engine = window::Engine::create({spec_});
    IOC_CHECK_MSG(engine.ok(), "view spec was validated at start");
    auto ps = std::make_unique<PartitionState>(std::move(engine).value());
    std::int64_t offset = -1;
    if (committed.ok() && i < committed->size()) {
      offset = (*committed)[i].offset;
      const CommitMark mark = decode_commit_metadata((*committed)[i].metadata);
      ps->resume_read = mark.read_offset;
      if (mark.watermark_ms && *mark.watermark_ms > bound) {
        // Left by a record from the future before event times were bounded.
        log::warn("stored watermark is beyond the time bound; ignored",
                  {{"partition", p}, {"watermark", format_rfc3339(from_epoch_ms(*mark.watermark_ms))}});
      } else {
        ps->frontier = mark.watermark_ms;
      }
    }
    ps->engine.assign_partition(p, ps->frontier.value_or(window::kNoWatermark));
    // Committing the start position at once (a never-committed partition
    // gets it from the statistics) lets the broker, and this replica after a
    // restart, see records that retention removes before they are read.
    if (offset >= 0) tracker_.start(p, offset);
    log::info("partition assigned", {{"topic", partitions[i].topic},
                                     {"partition", p},
                                     {"committed_offset", offset},
                                     {"start_offset", tracker_.next_offset(p)},
                                     {"resume_read", ps->resume_read.value_or(-1)},
                                     {"frontier", ps->frontier ? format_rfc3339(from_epoch_ms(*ps->frontier)) : ""}});
    partitions_[p] = std::move(ps);
  }
  metrics_->assigned.Set(static_cast<double>(partitions_.size()));
  assigned_count_ = partitions_.size();
}

void Aggregator::on_error(const kafka::ConsumerError& error) {
  metrics_->consumer_errors.Add({{"error", error.code}}).Increment();
}

void Aggregator::on_revoked(const std::vector<kafka::TopicPartition>& partitions) {
  std::vector<std::int32_t> ids;
  for (const auto& tp : partitions) ids.push_back(tp.partition);
  commit(ids);
  for (std::int32_t p : ids) {
    auto it = partitions_.find(p);
    if (it == partitions_.end()) continue;
    // The next owner exports these groups now; a stale copy here would be
    // double-counted by sum() over replicas.
    for (window::GroupKey k : it->second->gauge_keys) {
      metrics_->window_events.Remove(&metrics_->window_events.Add(group_labels(k)));
    }
    metrics_->window_end.Remove(
        &metrics_->window_end.Add({{"view", cfg_.view_name}, {"partition", std::to_string(p)}}));
    // The open windows' records are at or after the committed offset: the
    // next owner recomputes them. Dropping the state here prevents this
    // replica from publishing a partial window.
    partitions_.erase(it);
    tracker_.forget(p);
    metrics_->watermark.Remove(&metrics_->watermark.Add({{"partition", std::to_string(p)}}));
  }
  metrics_->assigned.Set(static_cast<double>(partitions_.size()));
  assigned_count_ = partitions_.size();
}

void Aggregator::dead_letter(const kafka::Message& m, const std::string& reason) {
  if (Status s = producer_.produce(cfg_.deadletter_topic, m.key(), m.value(), {},
                                   m.dead_letter_headers(reason, cfg_.common.service));
      !s.ok()) {
    metrics_->output_errors.Increment();
    outputs_lost_ = true;
    log::error("dead letter not queued", {{"error", s.error().message}, {"reason", reason}});
  }
}

void Aggregator::set_aside(const kafka::Message& m, bool replay, prometheus::Counter& counter,
                           const std::string& reason) {
  if (replay) return skip_replayed(m);
  counter.Increment();
  dead_letter(m, reason);
  tracker_.on_record(m.partition(), m.offset(), std::nullopt);
}

void Aggregator::skip_replayed(const kafka::Message& m) {
  metrics_->replayed.Increment();
  tracker_.on_record(m.partition(), m.offset(), std::nullopt);
}

void Aggregator::handle(const kafka::Message& m) {
  const std::int32_t p = m.partition();
  auto it = partitions_.find(p);
  if (it == partitions_.end()) return;  // a record fetched just before a revoke
  PartitionState& ps = *it->second;

  if (const auto gap = tracker_.check(p, m.offset()); gap.skipped > 0) {
    metrics_->pruned.Increment(static_cast<double>(gap.skipped));
    log::error("input records were removed before they were read (retention, then an offset reset): they are in "
               "no window and no dead letter",
               {{"topic", m.topic()},
                {"partition", p},
                {"first_offset", m.offset() - gap.skipped},
                {"last_offset", m.offset() - 1},
                {"records", gap.skipped}});
  } else if (gap.went_back) {
    log::warn("partition offsets went back: the broker lost its log (an in-memory broker restarted); reading on",
              {{"topic", m.topic()}, {"partition", p}, {"offset", m.offset()}});
    ps.resume_read.reset();
  }
  // Below the position read before a restart: handled then, unless its window is still open.
  const bool replay = ps.resume_read && m.offset() < *ps.resume_read;

  Report report;
  if (Status s = codec::decode(m.value(), report); !s.ok()) {
    set_aside(m, replay, metrics_->invalid, "invalid record: " + s.error().message);
    return;
  }
  const auto d = registry_.district_index(report.district);
  const auto c = registry_.category_index(report.category);
  if (!d || !c) {
    set_aside(m, replay, metrics_->invalid,
              !d ? "unknown district code '" + report.district + "'" : "unknown category '" + report.category + "'");
    return;
  }
  const std::int64_t t = to_epoch_ms(report.occurred_at);
  if (t > now_ms_ + cfg_.max_future_skew.count()) {
    set_aside(m, replay, metrics_->beyond_time_bound,
              "beyond time bound: occurred_at " + format_rfc3339(report.occurred_at) + " is more than " +
                  std::to_string(cfg_.max_future_skew.count() / 1000) + "s (aggregator.max_future_skew) ahead of " +
                  "processing time " + format_rfc3339(from_epoch_ms(now_ms_)));
    return;
  }
  const std::int64_t end = window_end(t);
  if (replay && ps.frontier && end + cfg_.allowed_lateness.count() <= *ps.frontier) {
    return skip_replayed(m);  // counted in a window published before the restart, or dead-lettered then
  }
  window::Event ev;
  ev.key = static_cast<window::GroupKey>(*d) * registry_.categories().size() + *c;
  ev.time_ms = t;
  ev.partition = p;
  ev.record_ref = record_ref(p, m.offset());
  switch (ps.engine.add(0, ev)) {
    case window::EventOutcome::kAccepted:
      metrics_->accepted.Increment();
      if (cfg_.sample_ids > 0) ps.samples.add(ev.record_ref, t, report.id);
      tracker_.on_record(p, m.offset(), end);
      return;
    case window::EventOutcome::kLate: {
      const std::int64_t judged = std::max(ps.engine.watermark(0), ps.frontier.value_or(window::kNoWatermark));
      set_aside(m, false, metrics_->late,
                "late: occurred_at " + format_rfc3339(report.occurred_at) +
                    " is beyond the allowed lateness of its window (watermark " +
                    format_rfc3339(from_epoch_ms(judged)) + ")");
      return;
    }
    case window::EventOutcome::kRejected:
      set_aside(m, replay, metrics_->invalid, "invalid record: occurred_at out of the supported range");
      return;
  }
}

void Aggregator::publish(PartitionState& ps, std::int32_t partition, std::span<const window::WindowResult> results) {
  const std::size_t ncat = registry_.categories().size();
  for (const window::WindowResult& r : results) {
    WindowResult out;
    out.view = cfg_.view_name;
    const auto& district = registry_.district(static_cast<Registry::Index>(r.key / ncat)).code;
    const auto& category = registry_.category(static_cast<Registry::Index>(r.key % ncat)).code;
    out.group = {{"district", district}, {"category", category}};
    out.window_start = from_epoch_ms(r.start_ms);
    out.window_end = from_epoch_ms(r.end_ms);
    out.revision = r.revision;
    out.final = r.final;
    out.count = r.count;
    out.values = {{"count", r.values.empty() ? static_cast<double>(r.count) : r.values[0]}};
    for (std::uint64_t ref : r.samples) {
      if (const std::string& id = ps.samples.find(ref); !id.empty()) out.sample_ids.push_back(id);
    }
    out.watermark = from_epoch_ms(r.watermark_ms);
    codec::encode(out, scratch_);
    if (Status s = producer_.produce(cfg_.output_topic, window_result_key(out), scratch_); !s.ok()) {
      metrics_->output_errors.Increment();
      outputs_lost_ = true;
      log::error("window result not queued", {{"error", s.error().message}});
    }
    (r.final ? metrics_->results_final : metrics_->results_early).Increment();

    // The "latest closed window" gauges follow final results only.
    if (!r.final || r.end_ms < ps.last_final_end) continue;
    if (r.end_ms > ps.last_final_end) {
      // A newer window closed in this partition: its groups without events get 0.
      for (window::GroupKey k : ps.gauge_keys) metrics_->window_events.Add(group_labels(k)).Set(0);
      ps.last_final_end = r.end_ms;
      metrics_->window_end.Add({{"view", cfg_.view_name}, {"partition", std::to_string(partition)}})
          .Set(static_cast<double>(r.end_ms) / 1000.0);
    }
    ps.gauge_keys.insert(r.key);
    metrics_->window_events.Add(group_labels(r.key)).Set(static_cast<double>(r.count));
  }
}

void Aggregator::commit(const std::vector<std::int32_t>& partitions) {
  std::vector<kafka::TopicPartition> offsets;
  for (std::int32_t p : partitions) {
    auto it = partitions_.find(p);
    const auto offset = tracker_.committable(p);
    if (it == partitions_.end() || !offset) continue;
    // Never below what the previous mark promised: a second crash during a
    // replay must still know which windows were final and what was read.
    const PartitionState& ps = *it->second;
    CommitMark mark;
    if (const std::int64_t wm = ps.engine.watermark(0); wm != window::kNoWatermark) mark.watermark_ms = wm;
    if (ps.frontier) mark.watermark_ms = std::max(mark.watermark_ms.value_or(*ps.frontier), *ps.frontier);
    if (const std::int64_t read = tracker_.next_offset(p); read >= 0) mark.read_offset = read;
    if (ps.resume_read) mark.read_offset = std::max(mark.read_offset.value_or(*ps.resume_read), *ps.resume_read);
    offsets.push_back({cfg_.input_topic, p, *offset, encode_commit_metadata(mark)});
  }
  if (offsets.empty()) return;
  if (!broker_reachable_) {
    // Waiting for flush and commit timeouts here would stop polling, and
    // with it the statistics that tell /readyz about the outage.
    metrics_->commits.Add({{"outcome", "skipped"}}).Increment();
    return;
  }
  // Results and dead letters must be stored before the offsets that
  // produced them move on.
  if (Status s = producer_.flush(kCommitTimeout); !s.ok()) {
    metrics_->commits.Add({{"outcome", "skipped"}}).Increment();
    log::warn("commit skipped: outputs not acknowledged", {{"error", s.error().message}});
    return;
  }
  if (count_delivery_failures()) {
    metrics_->commits.Add({{"outcome", "skipped"}}).Increment();
    return;
  }
  if (Status s = consumer_.commit(offsets); !s.ok()) {
    metrics_->commits.Add({{"outcome", "failed"}}).Increment();
    log::warn("commit failed", {{"error", s.error().message}});
    return;
  }
  metrics_->commits.Add({{"outcome", "ok"}}).Increment();
}

bool Aggregator::count_delivery_failures() {
  const std::uint64_t failed = producer_.failed();
  if (failed > delivery_failures_seen_) {
    metrics_->output_errors.Increment(static_cast<double>(failed - delivery_failures_seen_));
    delivery_failures_seen_ = failed;
    if (!outputs_lost_) {
      log::error("output records were not delivered; stopping without committing past them, so that a restart "
                 "recomputes them from the last committed offsets",
                 {{"failed_records", static_cast<std::int64_t>(failed)}});
    }
    outputs_lost_ = true;
  }
  return outputs_lost_;
}

void Aggregator::update_gauges() {
  double open = 0;
  double bytes = 0;
  for (const auto& [p, ps] : partitions_) {
    const window::ViewStats st = ps->engine.stats(0);
    open += static_cast<double>(st.open_windows);
    bytes += static_cast<double>(st.state_bytes);
    metrics_->watermark.Add({{"partition", std::to_string(p)}}).Set(static_cast<double>(st.watermark_ms) / 1000.0);
  }
  metrics_->open_windows.Set(open);
  metrics_->state_bytes.Set(bytes);
}

bool Aggregator::run(const std::atomic<bool>& stop) {
  auto last_commit = std::chrono::steady_clock::now();
  auto last_gauges = last_commit;
  while (!stop.load() && !count_delivery_failures()) {
    const auto batch = consumer_.poll(cfg_.batch_size, std::chrono::milliseconds(100));
    now_ms_ = to_epoch_ms(clock_.now());
    for (const kafka::Message& m : batch) handle(m);
    if (pending_stats_) {
      apply_stats(*pending_stats_);
      pending_stats_.reset();
    }
    for (auto& [p, ps] : partitions_) {
      publish(*ps, p, ps->engine.advance(now_ms_));
      ps->engine.clear_late_events();  // already dead-lettered in handle()
      const std::int64_t closed_before = ps->engine.watermark(0) - cfg_.allowed_lateness.count();
      ps->samples.purge_before(closed_before - cfg_.window.count());
      tracker_.on_windows_closed(p, closed_before);
    }
    const auto t = std::chrono::steady_clock::now();
    if (t - last_commit >= cfg_.commit_interval) {
      std::vector<std::int32_t> ids;
      for (const auto& [p, ps] : partitions_) ids.push_back(p);
      commit(ids);
      last_commit = t;
    }
    if (t - last_gauges >= std::chrono::seconds(1)) {
      update_gauges();
      last_gauges = t;
    }
  }
  std::vector<std::int32_t> ids;
  for (const auto& [p, ps] : partitions_) ids.push_back(p);
  commit(ids);
  consumer_.close();
  return !outputs_lost_;
}

}  // namespace ioc::aggregator
