// Pipeline, outputs: advancing event time, publishing results (with
// their revisions) and gauges, and a unit's checkpoint and its restore.
#include <algorithm>

#include "ioc/codec/codec.hpp"
#include "ioc/core/check.hpp"
#include "ioc/core/log.hpp"
#include "ioc/core/time_format.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"

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

void Pipeline::advance(Unit& u) {
  if (!u.sealed) return;
  u.advanced_at_ms = std::max(u.advanced_at_ms, u.last_record_ms);
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
    out.input_partition = u.partition;
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
  c.seen_ids.reserve(2 * u.seen.size());
  c.seen_received_ms.reserve(u.seen.size());
  u.seen.for_each([&](SeenIds::Key id, std::int64_t received_ms) {
    c.seen_ids.push_back(id.hi);
    c.seen_ids.push_back(id.lo);
    c.seen_received_ms.push_back(received_ms);
  });
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
  for (std::size_t i = 0; i < c.seen_received_ms.size(); ++i) {
    (void)u.seen.first(SeenIds::Key{c.seen_ids[2 * i], c.seen_ids[2 * i + 1]}, c.seen_received_ms[i]);
  }
  SampleIds::ViewMask fresh = 0;
  for (std::size_t i = 0; i < restored->size(); ++i) {
    if (!(*restored)[i]) fresh |= SampleIds::view_bit(i);
  }
  if (fresh != 0) u.engine.assign_partition(u.partition);  // the fresh views hear of the partition
  return fresh;
}
}  // namespace ioc::aggregator
