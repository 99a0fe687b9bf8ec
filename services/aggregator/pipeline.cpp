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

namespace {

/// The shortest record time between two advances of a unit's views within
/// one poll batch: views that emit early on every advance get one a second.
constexpr std::int64_t kMinReplayStep = 1'000;

bool matches(const Record& r, const Match& m) {
  const std::string_view v = r.text(m.field);
  return std::find(m.values.begin(), m.values.end(), v) != m.values.end();
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

bool records_wait(const Unit& u, std::int64_t unread) {
  if (unread >= 0) return unread > 0;
  return !(u.next_offset >= 0 && u.assigned_log_end >= 0 && u.assigned_log_end <= u.next_offset);
}

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
    if (v.spec.emit.mode != window::EmitMode::kFinalOnly) {
      replay_step_ms_[s] = std::min(replay_step_ms_[s], std::max(kMinReplayStep, v.spec.emit.min_interval.count()));
    }
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
  if (stream == Stream::kReports) {
    u->seen = SeenIds(cfg_.duplicates_window.count());
    u->backfill_seen = SeenIds(cfg_.duplicates_window.count());
  }
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
      backfill(u, m, *stream);
      if (u.backfill_below < 0) u.backfill_seen.clear();
      return;
    }
    u.backfill_below = -1;  // the rest of the range is gone (retention): over
    u.backfill_seen.clear();
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

  if (!u.seen.first(record_.id(), record_.time_ms(TimeAttribute::kIngest))) {
    ++duplicate_n_;
    return;
  }
  std::string late;
  const ViewsOutcome out = add_to_views(u, m, SampleIds::kAllViews, late);
  if (!out.rejected.empty()) return set_aside(m, metrics_.invalid, "invalid record: " + out.rejected);
  if (!late.empty()) return set_aside(m, metrics_.late, "late for " + late);
  ++(out.matched ? accepted_n_ : unmatched_n_);
  // One batch of a replay spans minutes of record time: the views advance
  // every shortest emit interval of the stream's views, so their early
  // results keep the cadence they had live (live, a batch spans far less,
  // and the poll loop advances them).
  if (u.advanced_at_ms == 0) {
    u.advanced_at_ms = m.timestamp_ms;
  } else if (u.sealed && !u.holding &&
             m.timestamp_ms - u.advanced_at_ms >= replay_step_ms_[static_cast<std::size_t>(u.stream)]) {
    advance(u);
  }
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
  if (duplicate_n_ > 0) metrics_.duplicate.Increment(static_cast<double>(std::exchange(duplicate_n_, 0)));
  for (std::size_t v = 0; v < view_accepted_n_.size(); ++v) {
    if (view_accepted_n_[v] > 0) view_accepted_[v]->Increment(static_cast<double>(std::exchange(view_accepted_n_[v], 0)));
  }
}

void Pipeline::backfill(Unit& u, const kafka::RecordView& m, Stream stream) {
  // Read before, and counted or dead-lettered then: only the views that
  // were not there count it now, and only their lateness is news.
  if (!record_.decode(stream, m.value, m.timestamp_ms).ok() || !unknown_value().empty() ||
      to_epoch_ms(record_.occurred_at()) > now_ms_ + cfg_.max_future_skew.count() ||
      !u.backfill_seen.first(record_.id(), record_.time_ms(TimeAttribute::kIngest))) {
    return;
  }
  std::string late;
  add_to_views(u, m, u.backfill_views, late);
  if (!late.empty()) set_aside(m, metrics_.late, "late for " + late);
}

}  // namespace ioc::aggregator
