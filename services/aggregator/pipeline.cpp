#include "pipeline.hpp"

#include <algorithm>

#include "ioc/codec/codec.hpp"
#include "ioc/core/check.hpp"
#include "ioc/core/config_error.hpp"
#include "ioc/core/hash.hpp"
#include "ioc/core/log.hpp"
#include "ioc/core/time_format.hpp"
#include "metrics.hpp"

namespace ioc::aggregator {

// Revisions name one value. The engine numbers a window's emissions 1, 2, ...
// and a checkpoint holds that number; a replica that restores the checkpoint
// replays the input after it and emits again from there, but not necessarily
// at the same points as its crashed predecessor did (emission is rate-limited
// by processing time), so the same number would name another value. Hence
// the epoch in the published revision's high half: every replica that takes
// a partition over publishes under the checkpoint's epoch + 1, and first
// stores a checkpoint carrying that epoch (the unit is "sealed"), so that
// even a crash before its next checkpoint cannot make a successor reuse it.
// Bit 31 marks the final result, above every early result of its epoch.

namespace {

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

}  // namespace

void values_of(const ViewConfig& v, std::span<const double> engine_values, std::vector<double>& out) {
  out.assign(engine_values.begin(), engine_values.end());
  for (const Ratio& r : v.ratios) {
    double den = 0;
    for (std::size_t d : r.denominator) den += engine_values[d];
    out.push_back(den == 0 ? 0.0 : engine_values[r.numerator] / den);
  }
}

// ---------------------------------------------------------------- group labels

std::optional<window::GroupKey> GroupLabels::intern(std::size_t view, std::span<const std::string_view> values) {
  std::uint64_t h = fnv1a_word(view, kFnv1aShortBasis);
  for (std::string_view v : values) h = fnv1a(v, fnv1a_word(0x1f, h));
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

Unit::Unit(Stream s, std::int32_t p, window::Engine e, std::size_t views)
    : stream(s), partition(p), topic(topic_of(s)), engine(std::move(e)), gauge_keys(views),
      last_final_end(views, std::numeric_limits<std::int64_t>::min()) {}

// ---------------------------------------------------------------- pipeline

Pipeline::Pipeline(const Config& cfg, const Registry& registry, Metrics& metrics, Sink& sink)
    : cfg_(cfg),
      registry_(registry),
      metrics_(metrics),
      sink_(sink),
      evidence_slack_ms_(cfg.views.size(), 0),
      labels_(cfg.views.size()),
      gauge_series_(cfg.views.size(), 0),
      view_accepted_n_(cfg.views.size(), 0) {
  for (std::size_t i = 0; i < cfg.views.size(); ++i) {
    const ViewConfig& v = cfg.views[i];
    const auto s = static_cast<std::size_t>(v.stream);
    stream_views_[s].push_back(i);
    stream_specs_[s].push_back(v.spec);
    // A window emits for the last time when the view's watermark reaches
    // end + lateness, i.e. when the max event time reaches end + lateness +
    // out-of-orderness (or processing time does, for quiet partitions). A
    // session grows while events extend it: its evidence ids are kept for
    // up to 60 more gaps, as long as sessions are expected to last.
    const window::WindowSpec& w = v.spec.window;
    evidence_slack_ms_[i] = v.spec.allowed_lateness.count() + v.spec.out_of_orderness.count() +
                            (w.kind == window::WindowKind::kSession ? 60 * w.gap.count() : 0);
    view_accepted_.push_back(&metrics_.view_events.Add({{"view", v.spec.name}, {"outcome", "accepted"}}));
    view_late_.push_back(&metrics_.view_events.Add({{"view", v.spec.name}, {"outcome", "late"}}));
    view_final_delay_.push_back(&metrics_.final_delay.Add(
        {{"view", v.spec.name}},
        prometheus::Histogram::BucketBoundaries{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200}));
  }
  for (std::size_t s = 0; s < kStreams; ++s) {
    if (stream_specs_[s].empty()) continue;
    if (auto e = window::Engine::create(stream_specs_[s]); !e.ok()) {
      throw ConfigError(cfg.views_file, "views", e.error().message);
    }
    topics_.emplace_back(topic_of(static_cast<Stream>(s)));
  }
  if (topics_.empty()) throw ConfigError(cfg.views_file, "views", "no views defined");
}

Pipeline::~Pipeline() = default;

std::optional<Stream> Pipeline::stream_of(std::string_view topic) const {
  for (std::size_t s = 0; s < kStreams; ++s) {
    if (topic == topic_of(static_cast<Stream>(s))) return static_cast<Stream>(s);
  }
  return std::nullopt;
}

Unit& Pipeline::add_unit(Stream stream, std::int32_t partition) {
  const auto s = static_cast<std::size_t>(stream);
  auto engine = window::Engine::create(stream_specs_[s]);
  IOC_CHECK_MSG(engine.ok(), "view specs were validated at start");
  auto u = std::make_unique<Unit>(stream, partition, std::move(engine).value(), stream_specs_[s].size());
  Unit& ref = *u;
  units_[{stream, partition}] = std::move(u);
  return ref;
}

Unit* Pipeline::find(UnitId id) {
  auto it = units_.find(id);
  return it == units_.end() ? nullptr : it->second.get();
}

void Pipeline::drop_unit(UnitId id) {
  auto it = units_.find(id);
  if (it == units_.end()) return;
  // The next owner exports these groups now; a stale copy here would be
  // double-counted by sum() over replicas.
  drop_gauges(*it->second);
  units_.erase(it);
}

std::vector<UnitId> Pipeline::unit_ids() const {
  std::vector<UnitId> ids;
  for (const auto& [id, u] : units_) ids.push_back(id);
  return ids;
}

void Pipeline::drop_gauges(Unit& u) {
  for (std::size_t i = 0; i < u.gauge_keys.size(); ++i) {
    const std::size_t gv = stream_views_[static_cast<std::size_t>(u.stream)][i];
    const ViewConfig& v = cfg_.views[gv];
    for (window::GroupKey k : u.gauge_keys[i]) {
      const auto* values = labels_[gv].find(k);
      if (values == nullptr) continue;
      for (std::size_t idx : v.gauge_values) {
        prometheus::Labels l{{"view", v.spec.name}, {"value", v.value_names[idx]}};
        for (std::size_t g = 0; g < v.group_names.size(); ++g) l[v.group_names[g]] = (*values)[g];
        metrics_.view_value.Remove(&metrics_.view_value.Add(l));
      }
      --gauge_series_[gv];
    }
    u.gauge_keys[i].clear();
  }
}

void Pipeline::set_aside(const kafka::RecordView& r, prometheus::Counter& counter, const std::string& reason) {
  counter.Increment();
  sink_.dead_letter(r, reason);
}

void Pipeline::handle(const kafka::RecordView& m) {
  const auto stream = stream_of(m.topic);
  if (!stream) return;
  auto it = units_.find({*stream, m.partition});
  if (it == units_.end()) return;  // a record fetched just before a revoke
  Unit& u = *it->second;
  const std::int32_t p = m.partition;

  if (u.backfill_below >= 0) {
    if (m.offset < u.backfill_below) {
      if (m.offset + 1 >= u.backfill_below) u.backfill_below = -1;  // the last one
      return backfill(u, m, *stream);
    }
    u.backfill_below = -1;  // the rest of the range is gone (retention): over
  }
  if (u.next_offset >= 0 && m.offset > u.next_offset) {
    const std::int64_t skipped = m.offset - u.next_offset;
    metrics_.pruned.Increment(static_cast<double>(skipped));
    log::error("input records were removed before they were read (retention, then an offset reset): they are in "
               "no window and no dead letter",
               {{"topic", m.topic},
                {"partition", p},
                {"first_offset", u.next_offset},
                {"last_offset", m.offset - 1},
                {"records", skipped}});
  } else if (u.next_offset >= 0 && m.offset < u.next_offset) {
    log::warn("partition offsets went back: the broker lost its log (an in-memory broker restarted); reading on",
              {{"topic", m.topic}, {"partition", p}, {"offset", m.offset}});
    u.catch_up_to = -1;
  }
  u.next_offset = m.offset + 1;
  u.dirty = true;
  u.last_record_ms = m.timestamp_ms;
  u.last_record_id = record_identity(m.key, m.value.size(), u.last_record_ms);

  if (Status s = record_.decode(*stream, m.value, m.timestamp_ms); !s.ok()) {
    return set_aside(m, metrics_.invalid, "invalid record: " + s.error().message);
  }
  if (std::string unknown = unknown_value(); !unknown.empty()) return set_aside(m, metrics_.invalid, unknown);
  if (to_epoch_ms(record_.occurred_at()) > now_ms_ + cfg_.max_future_skew.count()) {
    return set_aside(m, metrics_.beyond_time_bound,
                     "beyond time bound: occurred_at " + format_rfc3339(record_.occurred_at()) + " is more than " +
                         std::to_string(cfg_.max_future_skew.count() / 1000) +
                         "s (aggregator.max_future_skew) ahead of processing time " +
                         format_rfc3339(from_epoch_ms(now_ms_)));
  }

  std::string late;
  const ViewsOutcome out = add_to_views(u, m, SampleIds::kAllViews, late);
  if (!out.rejected.empty()) return set_aside(m, metrics_.invalid, "invalid record: " + out.rejected);
  if (!late.empty()) return set_aside(m, metrics_.late, "late for " + late);
  ++(out.matched ? accepted_n_ : unmatched_n_);
}

std::string Pipeline::unknown_value() const {
  // Each stream declares which of its fields the registry must know.
  const auto fields = views::fields_of(record_.stream());
  for (std::size_t f = 0; f < fields.size(); ++f) {
    const auto id = static_cast<FieldId>(f);
    switch (fields[f].known) {
      case views::Known::kAnything: break;
      case views::Known::kDistrict:
        if (!registry_.district_index(record_.text(id))) {
          return "unknown district code '" + std::string(record_.text(id)) + "'";
        }
        break;
      case views::Known::kCategory:
        if (!registry_.category_index(record_.text(id))) {
          return "unknown category '" + std::string(record_.text(id)) + "'";
        }
        break;
    }
  }
  return {};
}

Pipeline::ViewsOutcome Pipeline::add_to_views(Unit& u, const kafka::RecordView& m, SampleIds::ViewMask mask,
                                              std::string& late) {
  const std::int32_t p = m.partition;
  const auto& views = stream_views_[static_cast<std::size_t>(u.stream)];
  ViewsOutcome out;
  // Only ids a window keeps as evidence are remembered, until every window
  // that keeps them has emitted for the last time (engine-reported ends).
  bool kept = false;
  std::int64_t close_ms = std::numeric_limits<std::int64_t>::min();
  SampleIds::ViewMask kept_by = 0;
  std::array<std::string_view, kMaxGroupBy> values{};
  for (std::size_t i = 0; i < views.size(); ++i) {
    if ((mask & SampleIds::view_bit(i)) == 0) continue;
    const std::size_t gv = views[i];
    const ViewConfig& v = cfg_.views[gv];
    if (!std::all_of(v.filter.begin(), v.filter.end(), [&](const Match& f) { return matches(record_, f); })) continue;
    out.matched = true;
    for (std::size_t g = 0; g < v.group_by.size(); ++g) values[g] = record_.text(v.group_by[g]);
    const auto key = labels_[gv].intern(gv, std::span(values.data(), v.group_by.size()));
    if (!key) {
      out.rejected = "its group collides with another group's 64-bit key in view " + v.spec.name;
      continue;
    }
    window::Event ev;
    ev.key = *key;
    ev.time_ms = record_.time_ms(v.time);
    ev.partition = p;
    if (v.value_field) ev.value = record_.number(*v.value_field);
    if (v.distinct_field) ev.distinct_hash = fnv1a(record_.text(*v.distinct_field), kFnv1aShortBasis);
    for (std::size_t c = 0; c < v.count_where.size(); ++c) ev.fields[c] = matches(record_, v.count_where[c]) ? 1 : 0;
    if (v.spec.sample_refs > 0) ev.record_ref = record_ref(p, m.offset);
    window::Placement placed;  // asked for where evidence is kept
    switch (u.engine.add(static_cast<window::ViewId>(i), ev, v.spec.sample_refs > 0 ? &placed : nullptr)) {
      case window::EventOutcome::kAccepted:
        ++view_accepted_n_[gv];
        if (placed.sampled) {
          kept = true;
          kept_by |= SampleIds::view_bit(i);
          close_ms = std::max(close_ms, placed.last_end_ms + evidence_slack_ms_[gv]);
        }
        break;
      case window::EventOutcome::kLate:
        view_late_[gv]->Increment();
        late += (late.empty() ? "" : "; ") + v.spec.name + " (" + format_rfc3339(from_epoch_ms(ev.time_ms)) +
                " is beyond the allowed lateness of its window; watermark " +
                format_rfc3339(from_epoch_ms(u.engine.watermark(static_cast<window::ViewId>(i)))) + ")";
        break;
      case window::EventOutcome::kRejected:
        out.rejected = "time or value out of the supported range for view " + v.spec.name;
        break;
    }
  }
  if (kept) u.samples.add(record_ref(p, m.offset), close_ms, record_.id(), kept_by);
  return out;
}

void Pipeline::flush_counts() {
  // Counted per batch: a Prometheus counter is an atomic update, and three
  // per record were a measurable share of the hot path.
  if (accepted_n_ > 0) metrics_.accepted.Increment(static_cast<double>(std::exchange(accepted_n_, 0)));
  if (unmatched_n_ > 0) metrics_.unmatched.Increment(static_cast<double>(std::exchange(unmatched_n_, 0)));
  for (std::size_t v = 0; v < view_accepted_n_.size(); ++v) {
    if (view_accepted_n_[v] > 0) view_accepted_[v]->Increment(static_cast<double>(std::exchange(view_accepted_n_[v], 0)));
  }
}

void Pipeline::backfill(Unit& u, const kafka::RecordView& m, Stream stream) {
  // Read before, and counted or dead-lettered then: only the views that
  // were not there count it now, and only their lateness is news.
  if (!record_.decode(stream, m.value, m.timestamp_ms).ok() || !unknown_value().empty() ||
      to_epoch_ms(record_.occurred_at()) > now_ms_ + cfg_.max_future_skew.count()) {
    return;
  }
  std::string late;
  add_to_views(u, m, u.backfill_views, late);
  if (!late.empty()) set_aside(m, metrics_.late, "late for " + late);
}

void Pipeline::advance(Unit& u) {
  if (!u.sealed) return;
  publish(u, u.engine.advance(now_ms_, u.inputs_waiting));
  // Evidence close times are in the view's max-event-time terms (end +
  // lateness + out-of-orderness): a view has closed (and emitted) every
  // window with end + lateness <= its watermark, and its watermark +
  // out-of-orderness is where its event time stands.
  const auto& views = stream_views_[static_cast<std::size_t>(u.stream)];
  frontiers_.resize(views.size());
  for (std::size_t i = 0; i < views.size(); ++i) {
    frontiers_[i] = u.engine.watermark(static_cast<window::ViewId>(i)) + cfg_.views[views[i]].spec.out_of_orderness.count();
  }
  u.samples.purge_closed(frontiers_);
}

void Pipeline::publish(Unit& u, std::span<const window::WindowResult> results) {
  const auto& views = stream_views_[static_cast<std::size_t>(u.stream)];
  std::vector<double>& values = values_;
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
    out.revision = published_revision(u.epoch, r.revision, r.final);
    out.final = r.final;
    out.count = r.count;
    values_of(v, r.values, values);
    for (std::size_t i = 0; i < values.size(); ++i) out.values.push_back({v.value_names[i], values[i]});
    for (std::uint64_t ref : r.samples) {
      if (const std::string& id = u.samples.find(ref); !id.empty()) out.sample_ids.push_back(id);
    }
    out.watermark = from_epoch_ms(r.watermark_ms);
    codec::encode(out, scratch_);
    sink_.result(window_result_key(out), scratch_);
    (r.final ? metrics_.results_final : metrics_.results_early).Increment();
    if (r.final) view_final_delay_[gv]->Observe(static_cast<double>(now_ms_ - r.end_ms) / 1000.0);
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
            metrics_.view_value.Add(l).Set(0);
          }
        }
        u.last_final_end[r.view] = r.end_ms;
      }
      if (r.end_ms < u.last_final_end[r.view]) continue;
      if (!u.gauge_keys[r.view].contains(r.key)) {
        if (gauge_series_[gv] >= v.max_series) {
          metrics_.gauge_series_dropped.Add({{"view", v.spec.name}}).Increment();
          continue;
        }
        ++gauge_series_[gv];
        u.gauge_keys[r.view].insert(r.key);
      }
      for (std::size_t idx : v.gauge_values) {
        prometheus::Labels l{{"view", v.spec.name}, {"value", v.value_names[idx]}};
        for (std::size_t g = 0; g < v.group_names.size(); ++g) l[v.group_names[g]] = (*labels)[g];
        metrics_.view_value.Add(l).Set(values[idx]);
      }
    }
  }
}

Checkpoint Pipeline::make_checkpoint(const Unit& u) const {
  Checkpoint c;
  c.topic = u.topic;
  c.partition = u.partition;
  c.next_offset = u.next_offset;
  c.engine = u.engine.snapshot();
  c.created_ms = now_ms_;
  c.last_record_ms = u.last_record_ms;
  c.last_record_id = u.last_record_id;
  c.epoch = u.epoch;
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

Result<SampleIds::ViewMask> Pipeline::restore(Unit& u, const Checkpoint& c) {
  // The records below the checkpoint's offset are in results already
  // published, whatever becomes of its state; the identity of the last one
  // is the log's, and goes into every later checkpoint of this unit (one
  // written with no new input included) to tell this log from a replaced one.
  u.next_offset = c.next_offset;
  u.last_record_ms = c.last_record_ms;
  u.last_record_id = c.last_record_id;
  u.epoch = c.epoch + 1;
  u.sealed = false;
  auto restored = u.engine.restore_matching(c.engine);
  if (!restored.ok()) return restored.error();
  u.checkpointed = c.next_offset;
  // The checkpoint's processing time is its writer's. The time since (a
  // crash, a rebalance: no one read the partition) and the catch-up after it
  // are not silence: otherwise the quiet-partition rule would close every
  // open window at the first advance and make the records after it late.
  u.engine.forget_processing_time();
  for (const auto& k : c.keys) {
    const auto v = std::find_if(cfg_.views.begin(), cfg_.views.end(),
                                [&](const ViewConfig& x) { return x.spec.name == k.view; });
    if (v != cfg_.views.end()) labels_[static_cast<std::size_t>(v - cfg_.views.begin())].insert(k.key, k.values);
  }
  for (const auto& smp : c.samples) u.samples.add(smp.ref, smp.time_ms, smp.id);
  SampleIds::ViewMask fresh = 0;
  for (std::size_t i = 0; i < restored->size(); ++i) {
    if (!(*restored)[i]) fresh |= SampleIds::view_bit(i);
  }
  if (fresh != 0) u.engine.assign_partition(u.partition);  // the fresh views hear of the partition
  return fresh;
}

}  // namespace ioc::aggregator
