#include "aggregator.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <limits>

#include "ioc/codec/codec.hpp"
#include "ioc/core/config_error.hpp"
#include "ioc/core/log.hpp"
#include "ioc/core/text.hpp"
#include "ioc/core/time_format.hpp"
#include "ioc/kafka/admin.hpp"
#include "metrics.hpp"

namespace ioc::aggregator {

namespace {

// How often the loop asks the consumer which partitions have records waiting.
constexpr auto kUnreadInterval = std::chrono::milliseconds(200);

/// Readiness while nothing is assigned: the topics of the streams with
/// views, in stream order (the pipeline's topics()).
std::string unassigned_reason(const Config& cfg) {
  std::string topics;
  for (std::size_t s = 0; s < kStreams; ++s) {
    const auto stream = static_cast<Stream>(s);
    if (std::none_of(cfg.views.begin(), cfg.views.end(), [&](const ViewConfig& v) { return v.stream == stream; })) {
      continue;
    }
    topics += (topics.empty() ? "" : ", ") + std::string(topic_of(stream));
  }
  return "no partitions of " + topics + " assigned (consumer group " + cfg.group_id + ")";
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
      cluster_(admin_),
      health_("records", cfg.stall_timeout, unassigned_reason(cfg),
              {metrics_->lag, metrics_->broker_reachable, metrics_->consumer_errors}, &cluster_),
      dead_letters_(cfg.deadletter_topic, cfg.common.service,
                    [this](const std::string& topic, std::string_view key, std::string_view value,
                           const kafka::Headers& headers) { return produce(topic, key, value, headers); }),
      store_(cfg.group_id, cfg.state_topic, producer_, admin_, reader_, clock),
      pipeline_(cfg, registry, *metrics_, *this),
      units_(pipeline_.units()),
      topics_(pipeline_.topics()) {
  consumer_.subscribe(topics_);
}

Aggregator::~Aggregator() = default;

metrics::Readiness Aggregator::readiness() const {
  std::string why = health_.not_ready();
  if (!why.empty()) return {false, std::move(why)};
  return {};
}

void Aggregator::apply_stats() {
  std::vector<kafka::TopicPartition> positions;
  // Nothing read yet (-1): the lag is taken from the client's fetch
  // position. That position is never the unit's own: the client fetches
  // ahead into its queue (up to queued.min.messages), so records below it
  // may not have been handled yet, and a checkpoint at it would skip them.
  for (const auto& [id, u] : units_) positions.push_back({u->topic, u->partition, u->next_offset});
  const MonotonicTime now = clock_.monotonic();
  if (auto change = health_.apply(positions, now)) on_cluster_changed(*change);
  if (!health_.progress().verdict().empty()) return;
  if (!unrestored_.empty()) {
    health_.set_not_ready("checkpoints of " + std::to_string(unrestored_.size()) +
                          " partitions not read yet: trying again");
  } else if (outputs_lost_) {
    health_.set_not_ready("outputs were lost: recomputing them from the last checkpoints");
  } else if (outputs_waiting_since_ && now - *outputs_waiting_since_ >= cfg_.stall_timeout) {
    health_.set_not_ready(
        "outputs not acknowledged by the broker for " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - *outputs_waiting_since_).count()) +
        "s: results wait in memory, nothing is checkpointed past them");
  }
}

// ---------------------------------------------------------------- outputs

void Aggregator::result(std::string_view key, std::string_view value) {
  if (Status s = produce(cfg_.output_topic, key, value, {}); !s.ok()) {
    log::error("window result not queued", {{"error", s.error().message}});
  }
}

void Aggregator::dead_letter(const kafka::RecordView& record, std::string_view reason) {
  (void)dead_letters_.send(record, reason);
}

Status Aggregator::produce(const std::string& topic, std::string_view key, std::string_view value,
                           const kafka::Headers& headers) {
  for (;;) {
    Status s = producer_.produce(topic, key, value, {}, headers);
    if (s.ok()) return s;
    // kUnavailable: the local queue is full (the broker is away or slow).
    // An output is never dropped: wait for room while deliveries drain,
    // unless the replica is stopping (then nothing is checkpointed past it).
    if (s.error().code != ErrorCode::kUnavailable || (stop_ != nullptr && stop_->load())) {
      metrics_->output_errors.Increment();
      outputs_lost_ = true;
      return s;
    }
    health_.set_not_ready("output queue full: waiting for the broker to take results");
    (void)producer_.flush(std::chrono::milliseconds(100));
  }
}

// ---------------------------------------------------------------- checkpoints

void Aggregator::checkpoint(const std::vector<UnitId>& ids, bool all) {
  std::vector<UnitId> due;
  for (const UnitId& id : ids) {
    auto it = units_.find(id);
    if (it == units_.end() || it->second->next_offset < 0 || it->second->holding) continue;
    if (all || it->second->dirty || it->second->checkpointed != it->second->next_offset) due.push_back(id);
  }
  if (due.empty()) return;
  if (!health_.reachable()) {
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
    if (!outputs_waiting_since_) outputs_waiting_since_ = clock_.monotonic();
    return;
  }
  outputs_waiting_since_.reset();
  std::vector<kafka::TopicPartition> offsets;
  const std::uint64_t bytes_before = store_.bytes_written();
  for (const UnitId& id : due) {
    const Unit& u = *units_.at(id);
    if (Status s = store_.write(pipeline_.make_checkpoint(u)); !s.ok()) {
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
    u.sealed = true;
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
      log::error("output records were not delivered; nothing is checkpointed past them, and they are recomputed "
                 "from the last checkpoints",
                 {{"failed_records", static_cast<std::int64_t>(failed)}});
    }
    outputs_lost_ = true;
  }
  return outputs_lost_;
}

void Aggregator::update_gauges() {
  double seen = 0;
  double seen_bytes = 0;
  for (const auto& [id, u] : units_) {
    seen += static_cast<double>(u->seen.size());
    seen_bytes += static_cast<double>(u->seen.bytes());
  }
  metrics_->seen_ids.Set(seen);
  metrics_->seen_bytes.Set(seen_bytes);
  for (std::size_t s = 0; s < kStreams; ++s) {
    const auto& views = pipeline_.stream_views(static_cast<Stream>(s));
    for (std::size_t i = 0; i < views.size(); ++i) {
      const std::string& name = cfg_.views[views[i]].spec.name;
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

void Aggregator::note_unread() {
  std::vector<kafka::TopicPartition> parts;
  parts.reserve(units_.size());
  for (const auto& [id, u] : units_) parts.push_back({u->topic, u->partition, u->next_offset});
  const std::vector<std::int64_t> unread = consumer_.unread(parts);
  std::size_t i = 0;
  for (const auto& [id, u] : units_) {
    u->inputs_waiting = records_wait(*u, unread[i++]);
  }
}

bool Aggregator::run(const std::atomic<bool>& stop) {
  stop_ = &stop;
  MonotonicTime last_checkpoint = clock_.monotonic();
  auto last_gauges = last_checkpoint;
  auto last_unread = last_checkpoint;
  std::vector<UnitId> unsealed;
  while (!stop.load()) {
    if (count_delivery_failures()) (void)rewind();
    const auto batch = consumer_.poll(cfg_.batch_size, std::chrono::milliseconds(100));
    pipeline_.set_now(to_epoch_ms(clock_.now()));
    {
      std::lock_guard state(state_mu_);
      for (const kafka::Message& m : batch) pipeline_.handle(m.view());
      pipeline_.flush_counts();
      if (health_.has_stats()) apply_stats();
      // Also right after a stall (a rebalance, a slow restore): the time the
      // loop stood still while records waited is not silence.
      if (const MonotonicTime t = clock_.monotonic(); t - last_unread >= kUnreadInterval) {
        note_unread();
        last_unread = t;
      }
      for (auto& [id, u] : units_) {
        if (u->holding) {
          if (u->backfill_below >= 0 || (u->catch_up_to >= 0 && u->next_offset < u->catch_up_to)) continue;
          u->holding = false;
          log::info("partition caught up with its checkpoint's input",
                    {{"topic", u->topic}, {"partition", u->partition}, {"offset", u->next_offset}});
        }
        // Nothing read yet (no position): nothing to publish either.
        if (!u->sealed && u->next_offset >= 0) unsealed.push_back(id);
        pipeline_.advance(*u);
      }
    }
    // A unit's epoch is stored before it publishes under it.
    if (!unsealed.empty()) checkpoint(std::exchange(unsealed, {}), true);
    const MonotonicTime t = clock_.monotonic();
    if (t - last_checkpoint >= cfg_.checkpoint_interval) {
      checkpoint(pipeline_.unit_ids(), false);
      last_checkpoint = t;
    }
    if (t - last_gauges >= std::chrono::seconds(1)) {
      std::lock_guard state(state_mu_);
      update_gauges();
      last_gauges = t;
    }
  }
  checkpoint(pipeline_.unit_ids(), true);
  consumer_.close();
  return !outputs_lost_;
}

// ---------------------------------------------------------------- queries

Result<std::string> Aggregator::query(const ViewQuery& q) const {
  const auto v = std::find_if(cfg_.views.begin(), cfg_.views.end(),
                              [&](const ViewConfig& x) { return x.spec.name == q.view; });
  if (v == cfg_.views.end()) return Error{ErrorCode::kNotFound, "no view named '" + echo(q.view) + "'"};
  const std::size_t gv = static_cast<std::size_t>(v - cfg_.views.begin());
  std::vector<std::pair<std::size_t, std::string>> filters;
  for (const auto& [name, value] : q.match) {
    const auto g = std::find(v->group_names.begin(), v->group_names.end(), name);
    if (g == v->group_names.end()) {
      std::string allowed;
      for (const auto& n : v->group_names) allowed += (allowed.empty() ? "" : ", ") + n;
      return Error{ErrorCode::kInvalidArgument,
                   "view '" + q.view + "' has no group label '" + echo(name) + "'; its labels: " + allowed};
    }
    filters.emplace_back(static_cast<std::size_t>(g - v->group_names.begin()), value);
  }
  const auto& sviews = pipeline_.stream_views(v->stream);
  const auto local = static_cast<window::ViewId>(std::find(sviews.begin(), sviews.end(), gv) - sviews.begin());

  boost::json::array windows;
  boost::json::array partitions;
  std::vector<double> values;
  auto add = [&](std::uint32_t epoch, const std::vector<std::string>& labels, const window::WindowValue& w, bool open) {
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
                       {"revision", published_revision(epoch, w.revision, w.final)},
                       {"count", w.count},
                       {"values", std::move(vals)}});
  };
  std::lock_guard state(state_mu_);
  for (const auto& [id, u] : units_) {
    if (id.first != v->stream) continue;
    partitions.push_back(id.second);
    for (const auto& entry : pipeline_.labels(gv).all()) {
      const window::GroupKey k = entry.first;
      const auto& labels = entry.second;
      if (!std::all_of(filters.begin(), filters.end(), [&](const auto& f) { return labels[f.first] == f.second; })) {
        continue;
      }
      if (auto last = u->engine.last_final(local, k)) add(u->epoch, labels, *last, false);
      for (const window::WindowValue& w : u->engine.query_open(local, k)) add(u->epoch, labels, w, true);
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
