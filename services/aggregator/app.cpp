#include "app.hpp"

#include <algorithm>
#include <thread>

#include "ioc/codec/codec.hpp"
#include "ioc/core/check.hpp"
#include "ioc/core/config_error.hpp"
#include "ioc/core/log.hpp"
#include "ioc/core/time_format.hpp"

namespace ioc::aggregator {

namespace {

constexpr auto kCommitTimeout = std::chrono::seconds(5);

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

window::EmitMode parse_emit(config::Source& src) {
  const std::string v = src.get_string("aggregator.emit", "final");
  if (v == "final") return window::EmitMode::kFinalOnly;
  if (v == "update") return window::EmitMode::kOnUpdate;
  if (v == "both") return window::EmitMode::kBoth;
  throw ConfigError(src.file().value_or("settings"), "aggregator.emit", "must be final, update or both, got '" + v + "'");
}

}  // namespace

Config load_config(config::Source& src) {
  Config c;
  c.common = daemon::load_common(src, "ioc-aggregator", ":9101");
  c.group_id = src.get_string("aggregator.group_id", c.group_id);
  c.input_topic = src.get_string("aggregator.input_topic", c.input_topic);
  c.output_topic = src.get_string("aggregator.output_topic", c.output_topic);
  c.deadletter_topic = src.get_string("aggregator.deadletter_topic", c.deadletter_topic);
  c.view_name = src.get_string("aggregator.view", c.view_name);
  c.window = src.get_duration("aggregator.window", c.window, std::chrono::milliseconds(1));
  c.allowed_lateness = src.get_duration("aggregator.allowed_lateness", c.allowed_lateness);
  c.out_of_orderness = src.get_duration("aggregator.out_of_orderness", c.out_of_orderness);
  c.idle_timeout = src.get_duration("aggregator.idle_timeout", c.idle_timeout);
  c.emit = parse_emit(src);
  c.update_interval = src.get_duration("aggregator.update_interval", c.update_interval, std::chrono::milliseconds(1));
  c.sample_ids = static_cast<std::uint32_t>(src.get_int("aggregator.sample_ids", c.sample_ids, 0, window::kMaxSampleRefs));
  c.batch_size = static_cast<std::size_t>(src.get_int("aggregator.batch_size", 2000, 1, 100'000));
  c.commit_interval = src.get_duration("aggregator.commit_interval", c.commit_interval, std::chrono::milliseconds(10));
  c.delivery_timeout =
      src.get_duration("aggregator.delivery_timeout", c.delivery_timeout, std::chrono::milliseconds(100));
  daemon::finish(src, "aggregator");
  return c;
}

// ---------------------------------------------------------------- state and metrics

struct Aggregator::PartitionState {
  explicit PartitionState(window::Engine e) : engine(std::move(e)) {}
  window::Engine engine;
  SampleIds samples;
  /// Watermark stored with the last commit: windows that ended (plus
  /// lateness) before it were published before a restart or rebalance.
  std::optional<std::int64_t> restored_watermark;
  /// Keys whose "latest final" gauge this partition set, and that window's end.
  std::set<window::GroupKey> gauge_keys;
  std::int64_t last_final_end = std::numeric_limits<std::int64_t>::min();
};

struct Aggregator::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : events(prometheus::BuildCounter()
                   .Name("ioc_aggregator_events_total")
                   .Help("Input records by outcome: accepted (in a window), late (beyond allowed lateness, sent to "
                         "the dead-letter topic), invalid (undecodable or unknown codes, dead-lettered), replayed "
                         "(already counted in a window published before a restart)")
                   .Register(r)),
        accepted(events.Add({{"outcome", "accepted"}})),
        late(events.Add({{"outcome", "late"}})),
        invalid(events.Add({{"outcome", "invalid"}})),
        replayed(events.Add({{"outcome", "replayed"}})),
        results(prometheus::BuildCounter()
                    .Name("ioc_aggregator_results_total")
                    .Help("Window results published to the aggregates topic")
                    .Register(r)),
        results_final(results.Add({{"final", "true"}})),
        results_early(results.Add({{"final", "false"}})),
        output_errors(prometheus::BuildCounter()
                          .Name("ioc_aggregator_output_errors_total")
                          .Help("Records (results or dead letters) the producer could not queue or deliver")
                          .Register(r)
                          .Add({})),
        commits(prometheus::BuildCounter()
                    .Name("ioc_aggregator_commits_total")
                    .Help("Offset commits by outcome")
                    .Register(r)),
        lag(prometheus::BuildGauge()
                .Name("ioc_aggregator_consumer_lag")
                .Help("Records between this consumer's position and the partition's end")
                .Register(r)),
        watermark(prometheus::BuildGauge()
                      .Name("ioc_aggregator_watermark_timestamp_seconds")
                      .Help("Event-time watermark of each assigned partition")
                      .Register(r)),
        open_windows(prometheus::BuildGauge()
                         .Name("ioc_aggregator_open_windows")
                         .Help("Key-windows holding state, all assigned partitions")
                         .Register(r)
                         .Add({})),
        state_bytes(prometheus::BuildGauge()
                        .Name("ioc_aggregator_state_bytes")
                        .Help("Bytes of window state, all assigned partitions")
                        .Register(r)
                        .Add({})),
        assigned(prometheus::BuildGauge()
                     .Name("ioc_aggregator_assigned_partitions")
                     .Help("Input partitions this replica owns")
                     .Register(r)
                     .Add({})),
        window_events(prometheus::BuildGauge()
                         .Name("ioc_window_events")
                         .Help("Events in the latest closed (final) window of each group, 0 where none occurred")
                         .Register(r)),
        window_end(prometheus::BuildGauge()
                       .Name("ioc_window_end_timestamp_seconds")
                       .Help("End of the latest closed window whose counts ioc_window_events shows")
                       .Register(r)) {}

  prometheus::Family<prometheus::Counter>& events;
  prometheus::Counter& accepted;
  prometheus::Counter& late;
  prometheus::Counter& invalid;
  prometheus::Counter& replayed;
  prometheus::Family<prometheus::Counter>& results;
  prometheus::Counter& results_final;
  prometheus::Counter& results_early;
  prometheus::Counter& output_errors;
  prometheus::Family<prometheus::Counter>& commits;
  prometheus::Family<prometheus::Gauge>& lag;
  prometheus::Family<prometheus::Gauge>& watermark;
  prometheus::Gauge& open_windows;
  prometheus::Gauge& state_bytes;
  prometheus::Gauge& assigned;
  prometheus::Family<prometheus::Gauge>& window_events;
  prometheus::Family<prometheus::Gauge>& window_end;
};

// ---------------------------------------------------------------- Aggregator

Aggregator::Aggregator(const Config& cfg, const Registry& registry, const Clock& clock, prometheus::Registry& metrics)
    : cfg_(cfg),
      registry_(registry),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(metrics)),
      producer_(cfg.common.kafka, kafka::Producer::Options{.delivery_timeout = cfg.delivery_timeout}),
      consumer_(cfg.common.kafka,
                {.group_id = cfg.group_id}, this) {
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
  if (joined_.load()) return {};
  return {false, "not yet a member of consumer group " + cfg_.group_id};
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
  joined_ = true;
  auto committed = consumer_.committed(partitions, kCommitTimeout);
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    const std::int32_t p = partitions[i].partition;
    auto engine = window::Engine::create({spec_});
    IOC_CHECK_MSG(engine.ok(), "view spec was validated at start");
    auto ps = std::make_unique<PartitionState>(std::move(engine).value());
    ps->engine.assign_partition(p);
    if (committed.ok() && i < committed->size()) {
      ps->restored_watermark = decode_commit_metadata((*committed)[i].metadata);
    }
    log::info("partition assigned", {{"topic", partitions[i].topic},
                                     {"partition", p},
                                     {"committed_offset", committed.ok() ? (*committed)[i].offset : -1},
                                     {"restored_watermark", ps->restored_watermark.value_or(-1)}});
    partitions_[p] = std::move(ps);
  }
  metrics_->assigned.Set(static_cast<double>(partitions_.size()));
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
}

void Aggregator::dead_letter(const kafka::Message& m, const std::string& reason) {
  kafka::Headers h = m.headers();
  h.emplace_back("ioc.source.topic", std::string(m.topic()));
  h.emplace_back("ioc.source.partition", std::to_string(m.partition()));
  h.emplace_back("ioc.source.offset", std::to_string(m.offset()));
  h.emplace_back("ioc.error", reason);
  h.emplace_back("ioc.service", cfg_.common.service);
  if (Status s = producer_.produce(cfg_.deadletter_topic, m.key(), m.value(), {}, h); !s.ok()) {
    metrics_->output_errors.Increment();
    outputs_lost_ = true;
    log::error("dead letter not queued", {{"error", s.error().message}, {"reason", reason}});
  }
}

void Aggregator::handle(const kafka::Message& m) {
  const std::int32_t p = m.partition();
  auto it = partitions_.find(p);
  if (it == partitions_.end()) return;  // a record fetched just before a revoke
  PartitionState& ps = *it->second;

  Report report;
  if (Status s = codec::decode(m.value(), report); !s.ok()) {
    metrics_->invalid.Increment();
    dead_letter(m, "invalid record: " + s.error().message);
    tracker_.on_record(p, m.offset(), std::nullopt);
    return;
  }
  const auto d = registry_.district_index(report.district);
  const auto c = registry_.category_index(report.category);
  if (!d || !c) {
    metrics_->invalid.Increment();
    dead_letter(m, !d ? "unknown district code '" + report.district + "'"
                      : "unknown category '" + report.category + "'");
    tracker_.on_record(p, m.offset(), std::nullopt);
    return;
  }
  const std::int64_t t = to_epoch_ms(report.occurred_at);
  const std::int64_t end = window_end(t);
  if (ps.restored_watermark && end + cfg_.allowed_lateness.count() <= *ps.restored_watermark) {
    metrics_->replayed.Increment();
    tracker_.on_record(p, m.offset(), std::nullopt);
    return;
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
    case window::EventOutcome::kLate:
      metrics_->late.Increment();
      dead_letter(m, "late: occurred_at " + format_rfc3339(report.occurred_at) +
                         " is beyond the allowed lateness of its window (watermark " +
                         format_rfc3339(from_epoch_ms(ps.engine.watermark(0))) + ")");
      tracker_.on_record(p, m.offset(), std::nullopt);
      return;
    case window::EventOutcome::kRejected:
      metrics_->invalid.Increment();
      dead_letter(m, "rejected: occurred_at out of the supported range");
      tracker_.on_record(p, m.offset(), std::nullopt);
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
    offsets.push_back({cfg_.input_topic, p, *offset, encode_commit_metadata(it->second->engine.watermark(0))});
  }
  if (offsets.empty()) return;
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
  for (const kafka::PartitionLag& l : consumer_.lag()) {
    if (l.lag() >= 0) {
      metrics_->lag.Add({{"topic", l.topic}, {"partition", std::to_string(l.partition)}})
          .Set(static_cast<double>(l.lag()));
    }
  }
}

bool Aggregator::run(const std::atomic<bool>& stop) {
  auto last_commit = std::chrono::steady_clock::now();
  auto last_gauges = last_commit;
  while (!stop.load() && !count_delivery_failures()) {
    for (const kafka::Message& m : consumer_.poll(cfg_.batch_size, std::chrono::milliseconds(100))) handle(m);
    const std::int64_t now = to_epoch_ms(clock_.now());
    for (auto& [p, ps] : partitions_) {
      publish(*ps, p, ps->engine.advance(now));
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

int run(const Config& cfg) {
  log::init(cfg.common.service, cfg.common.log_level);
  const Registry registry = daemon::load_registry(cfg.common);
  daemon::Front front(cfg.common);
  Aggregator aggregator(cfg, registry, SystemClock::instance(), front.registry());
  front.start([&aggregator] { return aggregator.readiness(); });
  std::atomic<bool> stop{false};
  bool healthy = true;
  std::thread poller([&] {
    healthy = aggregator.run(stop);
    front.request_stop();  // if the loop ends on its own, end the process too
  });
  log::info("aggregator ready", {{"input", cfg.input_topic},
                                 {"output", cfg.output_topic},
                                 {"group", cfg.group_id},
                                 {"window_ms", static_cast<std::int64_t>(cfg.window.count())},
                                 {"allowed_lateness_ms", static_cast<std::int64_t>(cfg.allowed_lateness.count())},
                                 {"out_of_orderness_ms", static_cast<std::int64_t>(cfg.out_of_orderness.count())},
                                 {"idle_timeout_ms", static_cast<std::int64_t>(cfg.idle_timeout.count())}});
  const int sig = front.wait_for_signal();
  log::info("shutting down", {{"signal", sig}});
  stop = true;
  poller.join();
  front.stop();
  return healthy ? 0 : 1;
}

}  // namespace ioc::aggregator
