#include "aggregator.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <limits>

#include "ioc/codec/codec.hpp"
#include "ioc/core/check.hpp"
#include "ioc/core/config_error.hpp"
#include "ioc/core/log.hpp"
#include "ioc/core/time_format.hpp"
#include "ioc/kafka/admin.hpp"
#include "metrics.hpp"

namespace ioc::aggregator {

namespace {

constexpr auto kFlushTimeout = std::chrono::seconds(5);

/// Published revision of a final result: kFinalRevision + its engine
/// revision, above every early result of its window. A replica that takes a
/// partition over restarts revisions from the checkpoint and does not repeat
/// the early results its predecessor published after that checkpoint (and
/// before a crash); without this, its final could carry the revision of such
/// a partial early result, or a lower one, and lose the upsert.
constexpr std::uint32_t kFinalRevision = 1U << 31;

std::uint32_t published_revision(std::uint32_t revision, bool final) {
  return final ? kFinalRevision + revision : revision;
}

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

bool matches(const Record& r, const Match& m) {
  const std::string_view v = r.text(m.field);
  return std::find(m.values.begin(), m.values.end(), v) != m.values.end();
}

bool additive(const ViewConfig& v, std::size_t value) {
  // Engine values come first, in aggregation order (quantiles expand).
  std::size_t i = 0;
  for (const auto& a : v.spec.aggregations) {
    const std::size_t n = a.kind == window::AggregationKind::kQuantiles ? a.quantiles.size() : 1;
    if (value < i + n) {
      return a.kind == window::AggregationKind::kCount || a.kind == window::AggregationKind::kCountWhere ||
             a.kind == window::AggregationKind::kSum || a.kind == window::AggregationKind::kDistinct;
    }
    i += n;
  }
  return false;  // ratios
}

/// Engine values followed by the view's ratios.
void values_of(const ViewConfig& v, std::span<const double> engine_values, std::vector<double>& out) {
  out.assign(engine_values.begin(), engine_values.end());
  for (const Ratio& r : v.ratios) {
    double den = 0;
    for (std::size_t d : r.denominator) den += engine_values[d];
    out.push_back(den == 0 ? 0.0 : engine_values[r.numerator] / den);
  }
}

/// Cooperative rebalancing unless configured otherwise: a replica joining
/// or leaving moves only the partitions that change owner, and the others
/// keep their state and keep flowing.
kafka::ClientConfig group_client(const Config& cfg) {
  kafka::ClientConfig c = cfg.common.kafka;
  c.properties.try_emplace("partition.assignment.strategy", "cooperative-sticky");
  return c;
}

}  // namespace

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
    if (w->second.log_end < c.next_offset) {
      replaced.insert(unit);
    } else if (c.next_offset - 1 >= w->second.log_start) {
      probe.push_back({c.topic, c.partition, c.next_offset - 1});
    }
  }
  if (probe.empty()) return replaced;
  reader_.assign(probe);
  std::set<std::string> waiting;
  for (const auto& tp : probe) waiting.insert(unit_key(tp.topic, tp.partition));
  const auto deadline = std::chrono::steady_clock::now() + kFlushTimeout;
  while (!waiting.empty() && std::chrono::steady_clock::now() < deadline) {
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

// ---------------------------------------------------------------- group labels

std::optional<window::GroupKey> GroupLabels::intern(std::size_t view, std::span<const std::string_view> values) {
  std::uint64_t h = (1469598103934665603ULL ^ view) * 1099511628211ULL;
  for (std::string_view v : values) h = fnv1a(v, (h ^ 0x1f) * 1099511628211ULL);
  auto it = labels_.find(h);
  if (it == labels_.end()) {
    labels_.emplace(h, std::vector<std::string>(values.begin(), values.end()));
    return h;
  }
  if (!std::equal(it->second.begin(), it->second.end(), values.begin(), values.end())) return std::nullopt;
  return h;
}

const std::vector<std::string>* GroupLabels::find(window::GroupKey key) const {
  auto it = labels_.find(key);
  return it == labels_.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------- unit

struct Aggregator::Unit {
  Unit(Stream s, std::int32_t p, window::Engine e, std::size_t views)
      : stream(s), partition(p), topic(topic_of(s)), engine(std::move(e)), gauge_keys(views),
        last_final_end(views, std::numeric_limits<std::int64_t>::min()) {}
  Stream stream;
  std::int32_t partition;
  std::string topic;
  window::Engine engine;
  SampleIds samples;
  std::int64_t next_offset = -1;   // next offset to read, -1 unknown
  std::int64_t checkpointed = -1;  // next_offset of the last checkpoint written
  bool dirty = false;              // changed since the last checkpoint
  /// Restored from a checkpoint: emits nothing (and its quiet-partition
  /// rule stays off) until it has read up to `catch_up_to`.
  bool holding = false;
  std::int64_t catch_up_to = -1;
  std::int64_t last_record_ms = 0;  // the last record read (record_identity)
  std::uint64_t last_record_id = 0;
  std::vector<std::set<window::GroupKey>> gauge_keys;  // per local view: keys exported by this unit
  std::vector<std::int64_t> last_final_end;           // per local view
};

// ---------------------------------------------------------------- Aggregator

Aggregator::Aggregator(const Config& cfg, const Registry& registry, const Clock& clock, prometheus::Registry& metrics)
    : cfg_(cfg),
      registry_(registry),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(metrics)),
      producer_(cfg.common.kafka, kafka::Producer::Options{.delivery_timeout = cfg.delivery_timeout}),
      consumer_(group_client(cfg), {.group_id = cfg.group_id, .stats_interval = cfg.stats_interval}, this),
      admin_(cfg.common.kafka),
      reader_(cfg.common.kafka, {.group_id = cfg.group_id + ".state-reader"}),
      store_(cfg.group_id, cfg.state_topic, producer_, admin_, reader_),
      labels_(cfg.views.size()),
      gauge_series_(cfg.views.size(), 0),
      view_accepted_n_(cfg.views.size(), 0) {
  for (std::size_t i = 0; i < cfg.views.size(); ++i) {
    const ViewConfig& v = cfg.views[i];
    const auto s = static_cast<std::size_t>(v.stream);
    stream_views_[s].push_back(i);
    stream_specs_[s].push_back(v.spec);
    if (v.spec.sample_refs > 0) {
      stream_samples_[s] = std::max(stream_samples_[s], v.spec.sample_refs);
      // Processing time an evidence id may still be needed: the longest
      // window plus lateness and out-of-orderness, with a minute to spare.
      const window::WindowSpec& w = v.spec.window;
      const std::int64_t extent = std::max({w.size.count(), w.gap.count() * 60, std::int64_t{0}});
      sample_horizon_ms_[s] = std::max(sample_horizon_ms_[s], extent + v.spec.allowed_lateness.count() +
                                                                  v.spec.out_of_orderness.count() + 60'000);
    }
    view_accepted_.push_back(&metrics_->view_events.Add({{"view", v.spec.name}, {"outcome", "accepted"}}));
    view_late_.push_back(&metrics_->view_events.Add({{"view", v.spec.name}, {"outcome", "late"}}));
  }
  for (std::size_t s = 0; s < kStreams; ++s) {
    if (stream_specs_[s].empty()) continue;
    if (auto e = window::Engine::create(stream_specs_[s]); !e.ok()) {
      throw ConfigError(cfg.views_file, "views", e.error().message);
    }
    topics_.emplace_back(topic_of(static_cast<Stream>(s)));
  }
  if (topics_.empty()) throw ConfigError(cfg.views_file, "views", "no views defined");
  consumer_.subscribe(topics_);
}

Aggregator::~Aggregator() = default;

std::optional<Stream> Aggregator::stream_of(std::string_view topic) const {
  for (Stream s : {Stream::kReports, Stream::kTransactions, Stream::kTelemetry}) {
    if (topic == topic_of(s)) return s;
  }
  return std::nullopt;
}

std::vector<Aggregator::UnitId> Aggregator::unit_ids() const {
  std::vector<UnitId> ids;
  for (const auto& [id, u] : units_) ids.push_back(id);
  return ids;
}

metrics::Readiness Aggregator::readiness() const {
  if (assigned_count_.load() == 0) {
    std::string topics;
    for (const auto& t : topics_) topics += (topics.empty() ? "" : ", ") + t;
    return {false, "no partitions of " + topics + " assigned (consumer group " + cfg_.group_id + ")"};
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
  std::set<UnitId> exported;
  for (const kafka::PartitionStats& st : stats.partitions) {
    const auto stream = stream_of(st.topic);
    if (!stream) continue;
    auto it = units_.find({*stream, st.partition});
    if (it == units_.end()) continue;
    Unit& u = *it->second;
    // Nothing read yet: the position is where fetching started. Every record
    // fetched before these statistics were taken has been handled by now.
    if (u.next_offset < 0 && st.fetch_offset >= 0) u.next_offset = st.fetch_offset;
    if (!reachable || st.high_watermark < 0 || u.next_offset < 0) continue;
    const std::int64_t lag = std::max<std::int64_t>(0, st.high_watermark - u.next_offset);
    metrics_->lag.Add({{"topic", u.topic}, {"partition", std::to_string(u.partition)}}).Set(static_cast<double>(lag));
    exported.insert(it->first);
    waiting += lag;
    read += u.next_offset;
  }
  for (const UnitId& id : lag_exported_) {
    if (!exported.contains(id)) {
      const prometheus::Labels l{{"topic", topic_of(id.first)}, {"partition", std::to_string(id.second)}};
      metrics_->lag.Remove(&metrics_->lag.Add(l));
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

void Aggregator::on_assigned(std::vector<kafka::TopicPartition>& partitions) {
  const auto started = std::chrono::steady_clock::now();
  std::set<std::string> replaced;
  std::vector<std::string> keys;
  for (const auto& tp : partitions) keys.push_back(unit_key(tp.topic, tp.partition));
  auto checkpoints = store_.read(keys, cfg_.restore_timeout);
  if (!checkpoints.ok()) {
    // Without its state a replica would publish partial windows as final.
    metrics_->restores.Add({{"outcome", "failed"}}).Increment(static_cast<double>(partitions.size()));
    log::error("checkpoints could not be read; stopping so that a restart tries again",
               {{"topic", cfg_.state_topic}, {"error", checkpoints.error().message}});
    outputs_lost_ = true;
    return;
  }
  auto committed = consumer_.committed(partitions, kFlushTimeout);
  std::map<std::string, kafka::Watermarks> logs;
  for (const auto& tp : partitions) {
    if (auto w = admin_.watermarks(tp.topic, tp.partition, kFlushTimeout); w.ok()) logs[unit_key(tp.topic, tp.partition)] = *w;
  }
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
    const auto s = static_cast<std::size_t>(*stream);
    auto engine = window::Engine::create(stream_specs_[s]);
    IOC_CHECK_MSG(engine.ok(), "view specs were validated at start");
    auto u = std::make_unique<Unit>(*stream, tp.partition, std::move(engine).value(), stream_specs_[s].size());
    const std::int64_t committed_offset =
        committed.ok() && i < committed->size() ? (*committed)[i].offset : kafka::TopicPartition::kOffsetStored;
    std::string outcome = committed_offset >= 0 ? "lost" : "fresh";
    if (auto it = checkpoints->find(keys[i]); it != checkpoints->end()) {
      const Checkpoint& c = it->second;
      if (Status st = u->engine.restore(c.engine); st.ok()) {
        // The checkpoint's processing time is its writer's. The time since
        // (a crash, a rebalance: no one read the partition) and the catch-up
        // below are not silence: otherwise the quiet-partition rule would
        // close every open window at the first advance and make the records
        // after it late.
        u->engine.forget_processing_time();
        for (const auto& k : c.keys) {
          const auto v = std::find_if(cfg_.views.begin(), cfg_.views.end(),
                                      [&](const ViewConfig& x) { return x.spec.name == k.view; });
          if (v != cfg_.views.end()) labels_[static_cast<std::size_t>(v - cfg_.views.begin())].insert(k.key, k.values);
        }
        for (const auto& smp : c.samples) u->samples.add(smp.ref, smp.time_ms, smp.id);
        outcome = "restored";
      } else {
        log::error("checkpoint does not fit the views (views.yaml changed?): this partition's open windows restart "
                   "empty",
                   {{"unit", keys[i]}, {"error", st.error().message}});
        outcome = "lost";
      }
      // Either way, the records below the checkpoint's offset are in
      // results already published.
      tp.offset = c.next_offset;
      u->next_offset = c.next_offset;
      u->checkpointed = outcome == "restored" ? c.next_offset : -1;
      if (auto w = logs.find(keys[i]); outcome == "restored" && w != logs.end() && w->second.log_end > c.next_offset) {
        u->holding = true;
        u->catch_up_to = w->second.log_end;
      }
    } else if (replaced.contains(keys[i])) {
      outcome = "lost";
      tp.offset = kafka::TopicPartition::kOffsetBeginning;
    }
    if (outcome != "restored") u->engine.assign_partition(tp.partition);
    if (outcome == "lost" && !checkpoints->contains(keys[i]) && !replaced.contains(keys[i])) {
      log::warn("offsets were committed but no checkpoint exists (state topic emptied, e.g. by a broker restart): "
                "open windows restart from the committed offset",
                {{"unit", keys[i]}, {"committed_offset", committed_offset}});
    }
    metrics_->restores.Add({{"outcome", outcome}}).Increment();
    log::info("partition assigned", {{"topic", tp.topic},
                                     {"partition", tp.partition},
                                     {"state", outcome},
                                     {"start_offset", tp.offset},
                                     {"catch_up_to", u->catch_up_to}});
    units_[{*stream, tp.partition}] = std::move(u);
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_->restore_seconds.Set(took);
  metrics_->assigned.Set(static_cast<double>(units_.size()));
  assigned_count_ = units_.size();
}

void Aggregator::on_error(const kafka::ConsumerError& error) {
  metrics_->consumer_errors.Add({{"error", error.code}}).Increment();
}

void Aggregator::on_revoked(const std::vector<kafka::TopicPartition>& partitions) {
  std::vector<UnitId> ids;
  for (const auto& tp : partitions) {
    if (auto s = stream_of(tp.topic)) ids.emplace_back(*s, tp.partition);
  }
  checkpoint(ids, true);
  std::lock_guard state(state_mu_);
  for (const UnitId& id : ids) {
    auto it = units_.find(id);
    if (it == units_.end()) continue;
    // The next owner exports these groups now; a stale copy here would be
    // double-counted by sum() over replicas.
    drop_gauges(*it->second);
    const prometheus::Labels l{{"topic", topic_of(id.first)}, {"partition", std::to_string(id.second)}};
    if (lag_exported_.erase(id) > 0) metrics_->lag.Remove(&metrics_->lag.Add(l));
    units_.erase(it);
  }
  metrics_->assigned.Set(static_cast<double>(units_.size()));
  assigned_count_ = units_.size();
}

void Aggregator::drop_gauges(Unit& u) {
  for (std::size_t i = 0; i < u.gauge_keys.size(); ++i) {
    const std::size_t gv = stream_views_[static_cast<std::size_t>(u.stream)][i];
    const ViewConfig& v = cfg_.views[gv];
    for (window::GroupKey k : u.gauge_keys[i]) {
      const auto* values = labels_[gv].find(k);
      if (values == nullptr) continue;
      for (std::size_t idx : v.gauge_values) {
        prometheus::Labels l{{"view", v.spec.name}, {"value", v.value_names[idx]}};
        for (std::size_t g = 0; g < v.group_names.size(); ++g) l[v.group_names[g]] = (*values)[g];
        metrics_->view_value.Remove(&metrics_->view_value.Add(l));
      }
      --gauge_series_[gv];
    }
    u.gauge_keys[i].clear();
  }
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

void Aggregator::set_aside(const kafka::Message& m, prometheus::Counter& counter, const std::string& reason) {
  counter.Increment();
  dead_letter(m, reason);
}

void Aggregator::handle(const kafka::Message& m) {
  const auto stream = stream_of(m.topic());
  if (!stream) return;
  auto it = units_.find({*stream, m.partition()});
  if (it == units_.end()) return;  // a record fetched just before a revoke
  Unit& u = *it->second;
  const std::int32_t p = m.partition();

  if (u.next_offset >= 0 && m.offset() > u.next_offset) {
    const std::int64_t skipped = m.offset() - u.next_offset;
    metrics_->pruned.Increment(static_cast<double>(skipped));
    log::error("input records were removed before they were read (retention, then an offset reset): they are in "
               "no window and no dead letter",
               {{"topic", m.topic()},
                {"partition", p},
                {"first_offset", u.next_offset},
                {"last_offset", m.offset() - 1},
                {"records", skipped}});
  } else if (u.next_offset >= 0 && m.offset() < u.next_offset) {
    log::warn("partition offsets went back: the broker lost its log (an in-memory broker restarted); reading on",
              {{"topic", m.topic()}, {"partition", p}, {"offset", m.offset()}});
    u.catch_up_to = -1;
  }
  u.next_offset = m.offset() + 1;
  u.dirty = true;
  u.last_record_ms = m.timestamp_ms();
  u.last_record_id = record_identity(m.key(), m.value().size(), u.last_record_ms);

  if (Status s = record_.decode(*stream, m.value(), m.timestamp_ms()); !s.ok()) {
    return set_aside(m, metrics_->invalid, "invalid record: " + s.error().message);
  }
  if (!registry_.district_index(record_.district())) {
    return set_aside(m, metrics_->invalid, "unknown district code '" + record_.district() + "'");
  }
  if (*stream == Stream::kReports && !registry_.category_index(record_.text(Field::kCategory))) {
    return set_aside(m, metrics_->invalid,
                     "unknown category '" + std::string(record_.text(Field::kCategory)) + "'");
  }
  const std::int64_t t = to_epoch_ms(record_.occurred_at());
  if (t > now_ms_ + cfg_.max_future_skew.count()) {
    return set_aside(m, metrics_->beyond_time_bound,
                     "beyond time bound: occurred_at " + format_rfc3339(record_.occurred_at()) + " is more than " +
                         std::to_string(cfg_.max_future_skew.count() / 1000) +
                         "s (aggregator.max_future_skew) ahead of processing time " +
                         format_rfc3339(from_epoch_ms(now_ms_)));
  }

  const auto& views = stream_views_[static_cast<std::size_t>(*stream)];
  bool matched = false;
  bool kept = false;
  std::string late;
  std::string rejected;
  std::array<std::string_view, kMaxGroupBy> values{};
  for (std::size_t i = 0; i < views.size(); ++i) {
    const std::size_t gv = views[i];
    const ViewConfig& v = cfg_.views[gv];
    if (!std::all_of(v.filter.begin(), v.filter.end(), [&](const Match& f) { return matches(record_, f); })) continue;
    matched = true;
    for (std::size_t g = 0; g < v.group_by.size(); ++g) values[g] = record_.text(v.group_by[g]);
    const auto key = labels_[gv].intern(gv, std::span(values.data(), v.group_by.size()));
    if (!key) {
      rejected = "its group collides with another group's 64-bit key in view " + v.spec.name;
      continue;
    }
    window::Event ev;
    ev.key = *key;
    ev.time_ms = record_.time_ms(v.time);
    ev.partition = p;
    if (v.value_field) ev.value = *record_.number(*v.value_field);
    if (v.distinct_field) ev.distinct_hash = fnv1a(record_.text(*v.distinct_field));
    for (std::size_t c = 0; c < v.count_where.size(); ++c) ev.fields[c] = matches(record_, v.count_where[c]) ? 1 : 0;
    if (v.spec.sample_refs > 0) ev.record_ref = record_ref(p, m.offset());
    window::Placement placed;
    switch (u.engine.add(static_cast<window::ViewId>(i), ev, &placed)) {
      case window::EventOutcome::kAccepted:
        ++view_accepted_n_[gv];
        kept = kept || placed.sampled;  // only ids a window keeps as evidence are remembered
        break;
      case window::EventOutcome::kLate:
        view_late_[gv]->Increment();
        late += (late.empty() ? "" : "; ") + v.spec.name + " (" + format_rfc3339(from_epoch_ms(ev.time_ms)) +
                " is beyond the allowed lateness of its window; watermark " +
                format_rfc3339(from_epoch_ms(u.engine.watermark(static_cast<window::ViewId>(i)))) + ")";
        break;
      case window::EventOutcome::kRejected:
        rejected = "time or value out of the supported range for view " + v.spec.name;
        break;
    }
  }
  u.engine.clear_late_events();  // judged above, per view
  if (kept) u.samples.add(record_ref(p, m.offset()), now_ms_, record_.id());
  if (!rejected.empty()) return set_aside(m, metrics_->invalid, "invalid record: " + rejected);
  if (!late.empty()) return set_aside(m, metrics_->late, "late for " + late);
  ++(matched ? accepted_n_ : unmatched_n_);
}

void Aggregator::flush_counts() {
  // Counted per batch: a Prometheus counter is an atomic update, and three
  // per record were a measurable share of the hot path.
  if (accepted_n_ > 0) metrics_->accepted.Increment(static_cast<double>(std::exchange(accepted_n_, 0)));
  if (unmatched_n_ > 0) metrics_->unmatched.Increment(static_cast<double>(std::exchange(unmatched_n_, 0)));
  for (std::size_t v = 0; v < view_accepted_n_.size(); ++v) {
    if (view_accepted_n_[v] > 0) view_accepted_[v]->Increment(static_cast<double>(std::exchange(view_accepted_n_[v], 0)));
  }
}

void Aggregator::publish(Unit& u, std::span<const window::WindowResult> results) {
  const auto& views = stream_views_[static_cast<std::size_t>(u.stream)];
  std::vector<double> values;
  for (const window::WindowResult& r : results) {
    const std::size_t gv = views[r.view];
    const ViewConfig& v = cfg_.views[gv];
    const auto* labels = labels_[gv].find(r.key);
    IOC_CHECK_MSG(labels != nullptr, "every key in an engine was interned or restored with its labels");
    WindowResult out;
    out.view = v.spec.name;
    for (std::size_t g = 0; g < v.group_names.size(); ++g) out.group.push_back({v.group_names[g], (*labels)[g]});
    out.window_start = from_epoch_ms(r.start_ms);
    out.window_end = from_epoch_ms(r.end_ms);
    out.revision = published_revision(r.revision, r.final);
    out.final = r.final;
    out.count = r.count;
    values_of(v, r.values, values);
    for (std::size_t i = 0; i < values.size(); ++i) out.values.push_back({v.value_names[i], values[i]});
    for (std::uint64_t ref : r.samples) {
      if (const std::string& id = u.samples.find(ref); !id.empty()) out.sample_ids.push_back(id);
    }
    out.watermark = from_epoch_ms(r.watermark_ms);
    codec::encode(out, scratch_);
    if (Status s = producer_.produce(cfg_.output_topic, window_result_key(out), scratch_); !s.ok()) {
      metrics_->output_errors.Increment();
      outputs_lost_ = true;
      log::error("window result not queued", {{"error", s.error().message}});
    }
    (r.final ? metrics_->results_final : metrics_->results_early).Increment();
    u.dirty = true;
    if (r.final && !v.gauge_values.empty()) {
      // A newer window closed for this view in this unit: groups without
      // events in it count 0.
      if (r.end_ms > u.last_final_end[r.view]) {
        for (window::GroupKey k : u.gauge_keys[r.view]) {
          const auto* kl = labels_[gv].find(k);
          for (std::size_t idx : v.gauge_values) {
            if (!additive(v, idx) || kl == nullptr) continue;
            prometheus::Labels l{{"view", v.spec.name}, {"value", v.value_names[idx]}};
            for (std::size_t g = 0; g < v.group_names.size(); ++g) l[v.group_names[g]] = (*kl)[g];
            metrics_->view_value.Add(l).Set(0);
          }
        }
        u.last_final_end[r.view] = r.end_ms;
      }
      if (r.end_ms < u.last_final_end[r.view]) continue;
      if (!u.gauge_keys[r.view].contains(r.key)) {
        if (gauge_series_[gv] >= v.max_series) {
          metrics_->gauge_series_dropped.Add({{"view", v.spec.name}}).Increment();
          continue;
        }
        ++gauge_series_[gv];
        u.gauge_keys[r.view].insert(r.key);
      }
      for (std::size_t idx : v.gauge_values) {
        prometheus::Labels l{{"view", v.spec.name}, {"value", v.value_names[idx]}};
        for (std::size_t g = 0; g < v.group_names.size(); ++g) l[v.group_names[g]] = (*labels)[g];
        metrics_->view_value.Add(l).Set(values[idx]);
      }
    }
  }
}

Checkpoint Aggregator::make_checkpoint(const Unit& u) const {
  Checkpoint c;
  c.topic = u.topic;
  c.partition = u.partition;
  c.next_offset = u.next_offset;
  c.engine = u.engine.snapshot();
  c.created_ms = now_ms_;
  c.last_record_ms = u.last_record_ms;
  c.last_record_id = u.last_record_id;
  const auto& views = stream_views_[static_cast<std::size_t>(u.stream)];
  for (std::size_t i = 0; i < views.size(); ++i) {
    const ViewConfig& v = cfg_.views[views[i]];
    c.views.push_back(v.spec.name);
    for (window::GroupKey k : u.engine.open_keys(static_cast<window::ViewId>(i))) {
      if (const auto* l = labels_[views[i]].find(k)) c.keys.push_back({v.spec.name, k, *l});
    }
  }
  u.samples.for_each([&](std::uint64_t ref, std::int64_t t, const std::string& id) { c.samples.push_back({ref, t, id}); });
  return c;
}

void Aggregator::checkpoint(const std::vector<UnitId>& ids, bool all) {
  std::vector<UnitId> due;
  for (const UnitId& id : ids) {
    auto it = units_.find(id);
    if (it == units_.end() || it->second->next_offset < 0 || it->second->holding) continue;
    if (all || it->second->dirty || it->second->checkpointed != it->second->next_offset) due.push_back(id);
  }
  if (due.empty()) return;
  if (!broker_reachable_) {
    // Waiting for flush timeouts here would stop polling, and with it the
    // statistics that tell /readyz about the outage.
    metrics_->checkpoints.Add({{"outcome", "skipped"}}).Increment();
    return;
  }
  // Results and dead letters must be stored before the state that
  // produced them.
  if (Status s = producer_.flush(kFlushTimeout); !s.ok() || count_delivery_failures()) {
    metrics_->checkpoints.Add({{"outcome", "skipped"}}).Increment();
    if (!s.ok()) log::warn("checkpoint skipped: outputs not acknowledged", {{"error", s.error().message}});
    return;
  }
  std::vector<kafka::TopicPartition> offsets;
  const std::uint64_t bytes_before = store_.bytes_written();
  for (const UnitId& id : due) {
    Unit& u = *units_.at(id);
    if (Status s = store_.write(make_checkpoint(u)); !s.ok()) {
      metrics_->checkpoints.Add({{"outcome", "failed"}}).Increment();
      log::warn("checkpoint not queued", {{"unit", unit_key(u.topic, u.partition)}, {"error", s.error().message}});
      return;
    }
    offsets.push_back({u.topic, u.partition, u.next_offset});
  }
  if (Status s = producer_.flush(kFlushTimeout); !s.ok() || count_delivery_failures()) {
    metrics_->checkpoints.Add({{"outcome", "failed"}}).Increment();
    return;
  }
  metrics_->checkpoint_bytes.Increment(static_cast<double>(store_.bytes_written() - bytes_before));
  for (const UnitId& id : due) {
    Unit& u = *units_.at(id);
    u.checkpointed = u.next_offset;
    u.dirty = false;
  }
  metrics_->checkpoints.Add({{"outcome", "ok"}}).Increment();
  // The committed offsets show the group's progress (lag, retention
  // warnings); a restart starts from the checkpoints.
  if (Status s = consumer_.commit(offsets); !s.ok()) log::warn("commit failed", {{"error", s.error().message}});
}

bool Aggregator::count_delivery_failures() {
  const std::uint64_t failed = producer_.failed();
  if (failed > delivery_failures_seen_) {
    metrics_->output_errors.Increment(static_cast<double>(failed - delivery_failures_seen_));
    delivery_failures_seen_ = failed;
    if (!outputs_lost_) {
      log::error("output records were not delivered; stopping without checkpointing past them, so that a restart "
                 "recomputes them from the last checkpoint",
                 {{"failed_records", static_cast<std::int64_t>(failed)}});
    }
    outputs_lost_ = true;
  }
  return outputs_lost_;
}

void Aggregator::update_gauges() {
  for (std::size_t s = 0; s < kStreams; ++s) {
    for (std::size_t i = 0; i < stream_views_[s].size(); ++i) {
      const std::string& name = cfg_.views[stream_views_[s][i]].spec.name;
      double open = 0;
      double bytes = 0;
      std::int64_t wm = std::numeric_limits<std::int64_t>::max();
      for (const auto& [id, u] : units_) {
        if (static_cast<std::size_t>(id.first) != s) continue;
        const window::ViewStats st = u->engine.stats(static_cast<window::ViewId>(i));
        open += static_cast<double>(st.open_windows);
        bytes += static_cast<double>(st.state_bytes);
        wm = std::min(wm, st.watermark_ms);
      }
      metrics_->open_windows.Add({{"view", name}}).Set(open);
      metrics_->state_bytes.Add({{"view", name}}).Set(bytes);
      if (wm != std::numeric_limits<std::int64_t>::max() && wm != window::kNoWatermark) {
        metrics_->watermark.Add({{"view", name}}).Set(static_cast<double>(wm) / 1000.0);
      }
    }
  }
}

bool Aggregator::run(const std::atomic<bool>& stop) {
  auto last_checkpoint = std::chrono::steady_clock::now();
  auto last_gauges = last_checkpoint;
  while (!stop.load() && !count_delivery_failures()) {
    const auto batch = consumer_.poll(cfg_.batch_size, std::chrono::milliseconds(100));
    now_ms_ = to_epoch_ms(clock_.now());
    {
      std::lock_guard state(state_mu_);
      for (const kafka::Message& m : batch) handle(m);
      flush_counts();
      if (pending_stats_) {
        apply_stats(*pending_stats_);
        pending_stats_.reset();
      }
      for (auto& [id, u] : units_) {
        if (u->holding) {
          if (u->catch_up_to >= 0 && u->next_offset < u->catch_up_to) continue;
          u->holding = false;
          log::info("partition caught up with its checkpoint's input",
                    {{"topic", u->topic}, {"partition", u->partition}, {"offset", u->next_offset}});
        }
        publish(*u, u->engine.advance(now_ms_));
        u->engine.clear_late_events();
        u->samples.purge_before(now_ms_ - sample_horizon_ms_[static_cast<std::size_t>(id.first)]);
      }
    }
    const auto t = std::chrono::steady_clock::now();
    if (t - last_checkpoint >= cfg_.checkpoint_interval) {
      checkpoint(unit_ids(), false);
      last_checkpoint = t;
    }
    if (t - last_gauges >= std::chrono::seconds(1)) {
      std::lock_guard state(state_mu_);
      update_gauges();
      last_gauges = t;
    }
  }
  checkpoint(unit_ids(), true);
  consumer_.close();
  return !outputs_lost_;
}

// ---------------------------------------------------------------- queries

Result<std::string> Aggregator::query(const ViewQuery& q) const {
  const auto v = std::find_if(cfg_.views.begin(), cfg_.views.end(),
                              [&](const ViewConfig& x) { return x.spec.name == q.view; });
  if (v == cfg_.views.end()) return Error{ErrorCode::kNotFound, "no view named '" + q.view + "'"};
  const std::size_t gv = static_cast<std::size_t>(v - cfg_.views.begin());
  std::vector<std::pair<std::size_t, std::string>> filters;
  for (const auto& [name, value] : q.match) {
    const auto g = std::find(v->group_names.begin(), v->group_names.end(), name);
    if (g == v->group_names.end()) {
      std::string allowed;
      for (const auto& n : v->group_names) allowed += (allowed.empty() ? "" : ", ") + n;
      return Error{ErrorCode::kInvalidArgument,
                   "view '" + q.view + "' has no group label '" + name + "'; its labels: " + allowed};
    }
    filters.emplace_back(static_cast<std::size_t>(g - v->group_names.begin()), value);
  }
  const auto& sviews = stream_views_[static_cast<std::size_t>(v->stream)];
  const auto local = static_cast<window::ViewId>(std::find(sviews.begin(), sviews.end(), gv) - sviews.begin());

  boost::json::array windows;
  boost::json::array partitions;
  std::vector<double> values;
  auto add = [&](const std::vector<std::string>& labels, const window::WindowValue& w, bool open) {
    boost::json::object group;
    for (std::size_t g = 0; g < v->group_names.size(); ++g) group[v->group_names[g]] = labels[g];
    values_of(*v, w.values, values);
    boost::json::object vals;
    for (std::size_t i = 0; i < values.size(); ++i) vals[v->value_names[i]] = values[i];
    windows.push_back({{"group", std::move(group)},
                       {"window_start", format_rfc3339(from_epoch_ms(w.start_ms))},
                       {"window_end", format_rfc3339(from_epoch_ms(w.end_ms))},
                       {"open", open},
                       {"final", w.final},
                       {"revision", published_revision(w.revision, w.final)},
                       {"count", w.count},
                       {"values", std::move(vals)}});
  };
  std::lock_guard state(state_mu_);
  for (const auto& [id, u] : units_) {
    if (id.first != v->stream) continue;
    partitions.push_back(id.second);
    for (const auto& [k, labels] : labels_[gv].all()) {
      if (!std::all_of(filters.begin(), filters.end(), [&](const auto& f) { return labels[f.first] == f.second; })) {
        continue;
      }
      if (auto last = u->engine.last_final(local, k)) add(labels, *last, false);
      for (const window::WindowValue& w : u->engine.query_open(local, k)) add(labels, w, true);
    }
  }
  boost::json::array group_by;
  for (const auto& n : v->group_names) group_by.push_back(boost::json::string(n));
  boost::json::object out{{"view", q.view},
                          {"topic", topic_of(v->stream)},
                          {"group_by", std::move(group_by)},
                          {"partitions", std::move(partitions)},
                          {"windows", std::move(windows)}};
  return boost::json::serialize(out);
}

}  // namespace ioc::aggregator
