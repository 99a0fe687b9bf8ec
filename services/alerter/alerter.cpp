#include "alerter.hpp"

#include "ioc/codec/codec.hpp"
#include "ioc/core/log.hpp"
#include "metrics.hpp"

namespace ioc::alerter {

namespace {

constexpr auto kAdminTimeout = std::chrono::seconds(5);
constexpr auto kFlushTimeout = std::chrono::seconds(5);
constexpr auto kCommitTimeout = std::chrono::seconds(2);
constexpr const char* kHistoryFile = "episodes.history";
constexpr const char* kLedgerFile = "kpi.ledger";

}  // namespace

Alerter::Alerter(const Config& cfg, rules::RuleSet rules, const views::Catalog& views, const Registry& registry,
                 const Clock& clock, prometheus::Registry& metrics, std::vector<AlertChannel*> channels,
                 AlertViewBox& box)
    : cfg_(cfg),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(metrics)),
      producer_(cfg.common.kafka, kafka::Producer::Options{.linger = std::chrono::milliseconds(1),
                                                           .delivery_timeout = cfg.delivery_timeout}),
      dead_letters_(cfg.deadletter_topic, cfg.common.service,
                    [this](const std::string& topic, std::string_view key, std::string_view value,
                           const kafka::Headers& headers) {
                      Status s = producer_.produce(topic, key, value, {}, headers);
                      if (!s.ok()) metrics_->output_errors.Increment();
                      return s;
                    }),
      consumer_(cfg.common.kafka,
                {.group_id = cfg.group_id, .stats_interval = cfg.stats_interval, .fetch_wait_max = cfg.fetch_wait_max},
                this),
      cluster_([this]() -> Result<std::string> {
        if (!admin_) return Error{ErrorCode::kUnavailable, "no admin client yet"};
        return admin_->cluster_id(kAdminTimeout);
      }),
      health_("results", cfg.stall_timeout,
              "no partitions of " + cfg.input_topic + " assigned (waiting for the broker)",
              {metrics_->lag, metrics_->broker_reachable, metrics_->consumer_errors}, &cluster_),
      box_(box),
      pipeline_(cfg, std::move(rules), views, registry, clock, *metrics_, *this, std::move(channels), box) {
  writer_ = std::make_unique<CheckpointWriter>(cfg.state_dir, [this](const Status& s) {
    if (!s.ok()) {
      metrics_->checkpoints.Add({{"outcome", "failed"}}).Increment();
      log::error("checkpoint not written", {{"error", s.error().message}, {"dir", cfg_.state_dir}});
      return;
    }
    metrics_->checkpoints.Add({{"outcome", "ok"}}).Increment();
    metrics_->checkpoint_time.Set(static_cast<double>(to_epoch_ms(clock_.now())) / 1000.0);
  });
  history_writer_ = std::make_unique<CheckpointWriter>(
      cfg.state_dir,
      [this](const Status& s) {
        if (!s.ok()) log::error("episode history not written", {{"error", s.error().message}, {"dir", cfg_.state_dir}});
      },
      kHistoryFile);
  ledger_writer_ = std::make_unique<CheckpointWriter>(
      cfg.state_dir,
      [this](const Status& s) {
        if (!s.ok()) log::error("KPI ledger not written", {{"error", s.error().message}, {"dir", cfg_.state_dir}});
      },
      kLedgerFile);
}

Alerter::~Alerter() = default;

// ---------------------------------------------------------------- readiness and statistics

metrics::Readiness Alerter::readiness() const {
  std::string why = health_.not_ready();
  if (!why.empty()) return {false, std::move(why), {}};
  return {};
}

void Alerter::on_assigned(std::vector<kafka::TopicPartition>&) {}
void Alerter::on_revoked(const std::vector<kafka::TopicPartition>&) {}

void Alerter::apply_stats() {
  std::vector<kafka::TopicPartition> positions;
  for (std::int32_t p = 0; p < partitions_; ++p) {
    auto it = pipeline_.positions().find(p);
    positions.push_back({cfg_.input_topic, p, it != pipeline_.positions().end() ? it->second : -1});
  }
  if (auto change = health_.apply(positions, clock_.monotonic())) new_cluster(*change);
  pipeline_.set_cluster(cluster_.id());
  pipeline_.backlog(health_.progress().caught_up(), health_.progress().waiting());
}

// ---------------------------------------------------------------- restore

std::map<std::string, AlertEvent> Alerter::read_published() {
  std::map<std::string, AlertEvent> latest;
  kafka::Admin admin(cfg_.common.kafka);
  auto topics = admin.topics(kAdminTimeout);
  if (!topics.ok()) throw std::runtime_error("topics: " + topics.error().message);
  int partitions = 0;
  for (const auto& t : *topics) {
    if (t.name == cfg_.output_topic) partitions = t.partitions;
  }
  std::vector<kafka::TopicPartition> assign;
  std::map<std::int32_t, std::int64_t> ends;
  for (std::int32_t p = 0; p < partitions; ++p) {
    auto wm = admin.watermarks(cfg_.output_topic, p, kAdminTimeout);
    if (!wm.ok()) throw std::runtime_error("watermarks: " + wm.error().message);
    if (wm->log_end > wm->log_start) {
      ends[p] = wm->log_end;
      assign.push_back({cfg_.output_topic, p, wm->log_start});
    }
  }
  if (assign.empty()) return latest;
  kafka::Consumer reader(cfg_.common.kafka, {.group_id = cfg_.group_id + ".restore"});
  reader.assign(assign);
  const MonotonicTime deadline = clock_.monotonic() + cfg_.restore_timeout;
  std::size_t records = 0;
  while (!ends.empty()) {
    if (clock_.monotonic() > deadline) {
      throw std::runtime_error("reading " + cfg_.output_topic + " took longer than alerter.restore_timeout");
    }
    for (const kafka::Message& m : reader.poll(1000, std::chrono::milliseconds(100))) {
      ++records;
      AlertEvent e;
      if (codec::decode(m.value(), e).ok()) {
        auto it = latest.find(e.fingerprint);
        if (it == latest.end() || newer(e, it->second)) latest[e.fingerprint] = std::move(e);
      }
      if (auto it = ends.find(m.partition()); it != ends.end() && m.offset() + 1 >= it->second) ends.erase(it);
    }
  }
  reader.close();
  log::info("read back published alerts", {{"topic", cfg_.output_topic}, {"records", records},
                                           {"fingerprints", latest.size()}});
  return latest;
}

bool Alerter::try_assign() {
  if (!admin_) admin_ = std::make_unique<kafka::Admin>(cfg_.common.kafka);
  auto topics = admin_->topics(kAdminTimeout);
  if (!topics.ok()) return false;
  int partitions = 0;
  for (const auto& t : *topics) {
    if (t.name == cfg_.input_topic) partitions = t.partitions;
  }
  if (partitions == 0) return false;
  partitions_ = partitions;
  // Changed before anything was assigned: the alerts go to the new logs again.
  if (auto change = cluster_.check(clock_.monotonic())) new_cluster(*change, false);
  pipeline_.assigning(cluster_.id());
  std::vector<kafka::TopicPartition> tps;
  tps.reserve(static_cast<std::size_t>(std::max(partitions, 0)));
  for (std::int32_t p = 0; p < partitions; ++p) tps.push_back({cfg_.input_topic, p, kafka::TopicPartition::kOffsetBeginning});
  // Without a checkpoint, the group's committed offsets (committed with every checkpoint) are the next best.
  if (pipeline_.restored_offsets().empty() && pipeline_.positions().empty()) {
    auto committed = consumer_.committed(tps, kAdminTimeout);
    if (committed.ok()) {
      for (std::size_t i = 0; i < committed->size() && i < tps.size(); ++i) {
        if ((*committed)[i].offset >= 0) tps[i].offset = (*committed)[i].offset;
      }
    }
  }
  for (auto& tp : tps) {
    if (auto it = pipeline_.positions().find(tp.partition); it != pipeline_.positions().end()) {
      tp.offset = it->second;
    } else if (auto r = pipeline_.restored_offsets().find(tp.partition); r != pipeline_.restored_offsets().end()) {
      tp.offset = r->second;
    }
  }
  consumer_.assign(tps);
  health_.set_assigned(tps.size());
  pipeline_.assigned();
  metrics_->assigned.Set(static_cast<double>(tps.size()));
  for (const auto& tp : tps) {
    log::info("partition assigned", {{"topic", tp.topic}, {"partition", tp.partition}, {"offset", tp.offset}});
  }
  return true;
}

bool Alerter::check_cluster() {
  auto change = cluster_.check(clock_.monotonic());
  if (change) new_cluster(*change);
  return change.has_value();
}

void Alerter::new_cluster(const kafka::ClusterChange& change, bool reread) {
  logs_lost("the broker is a new cluster (" + change.old_id + " -> " + change.new_id + ")", reread);
}

void Alerter::logs_lost(const std::string& why, bool reread) {
  pipeline_.set_cluster(cluster_.id());
  pipeline_.logs_lost(why);
  if (reread && partitions_ > 0) {
    std::vector<kafka::TopicPartition> tps;
    tps.reserve(static_cast<std::size_t>(partitions_));
    for (std::int32_t p = 0; p < partitions_; ++p) {
      tps.push_back({cfg_.input_topic, p, kafka::TopicPartition::kOffsetBeginning});
    }
    consumer_.assign(tps);
  }
}

// ---------------------------------------------------------------- outputs

void Alerter::publish(const AlertEvent& e) {
  codec::encode(e, scratch_);
  Status s = producer_.produce(cfg_.output_topic, e.fingerprint, scratch_, [this, e](const kafka::DeliveryReport& d) {
    if (!d.status.ok()) pipeline_.publication_failed(e);
  });
  if (!s.ok()) pipeline_.publication_failed(e);
}

void Alerter::save_history(std::string bytes) { history_writer_->submit(std::move(bytes)); }
void Alerter::save_ledger(std::string bytes) { ledger_writer_->submit(std::move(bytes)); }

void Alerter::dead_letter(const kafka::RecordView& record, std::string_view reason) {
  (void)dead_letters_.send(record, reason);
}

void Alerter::checkpoint(const Checkpoint& c, bool commit) {
  writer_->submit(encode_checkpoint(c));
  // The group's offsets are for operators (lag, retention warnings); the checkpoint is what counts.
  if (commit && health_.reachable() && !pipeline_.positions().empty()) {
    std::vector<kafka::TopicPartition> offsets;
    for (const auto& [p, o] : pipeline_.positions()) offsets.push_back({cfg_.input_topic, p, o});
    if (Status s = consumer_.commit(offsets, kCommitTimeout); !s.ok()) {
      log::debug("offsets not committed", {{"error", s.error().message}});
    }
  }
}

// ---------------------------------------------------------------- loop

bool Alerter::run(const std::atomic<bool>& stop) {
  auto saved = load_checkpoint(cfg_.state_dir);
  // The episode history and the KPI ledger: one that does not read back is
  // started afresh (the alerts themselves come from the checkpoint).
  auto restore = [this](const char* file, const std::string& what, auto& store, const char* count) {
    auto bytes = load_state_file(cfg_.state_dir, file);
    if (bytes.ok() && *bytes) {
      if (Status s = store.restore(**bytes); !s.ok()) bytes = s.error();
    }
    if (!bytes.ok()) {
      log::error(what + " unreadable; starting it afresh", {{"error", bytes.error().message}});
    } else {
      log::info(what + " restored", {{count, store.size()}});
    }
  };
  restore(kHistoryFile, "episode history", box_.history(), "episodes");
  restore(kLedgerFile, "KPI ledger", box_.ledger(), "days");
  std::optional<std::map<std::string, AlertEvent>> published;
  try {
    published = read_published();
  } catch (const std::exception& e) {
    log::warn("published alerts not read back; relying on the checkpoint", {{"error", e.what()}});
  }
  pipeline_.restore(saved, published);
  MonotonicTime last_assign = clock_.monotonic() - std::chrono::seconds(1);
  while (!stop.load()) {
    const MonotonicTime t = clock_.monotonic();
    if (health_.assigned() == 0 && t - last_assign >= std::chrono::seconds(1)) {
      last_assign = t;
      if (!try_assign()) log::warn("cannot assign " + cfg_.input_topic + " yet (no broker, or no topic); retrying");
    }
    pipeline_.apply_new_rules();
    const auto batch = consumer_.poll(cfg_.batch_size, std::chrono::milliseconds(100));
    pipeline_.begin_batch();
    for (const kafka::Message& m : batch) {
      const kafka::RecordView r = m.view();
      // Offsets only go back when the broker lost its log (the embedded
      // broker restarted): the cluster id tells for sure, and then every
      // partition is read again.
      if (pipeline_.goes_back(r) && !check_cluster()) {
        logs_lost("offsets of " + std::string(r.topic) + " [" + std::to_string(r.partition) + "] went back from " +
                      std::to_string(pipeline_.positions().at(r.partition)) + " to " + std::to_string(r.offset),
                  false);
      }
      pipeline_.handle(r);
    }
    if (health_.has_stats()) apply_stats();
    pipeline_.tick(!batch.empty());
  }
  if (Status s = producer_.flush(kFlushTimeout); !s.ok()) {
    log::warn("alert events not acknowledged at shutdown (the checkpoint has them)", {{"error", s.error().message}});
  }
  pipeline_.finish();
  writer_->flush();
  history_writer_->flush();
  ledger_writer_->flush();
  consumer_.close();
  return true;
}

}  // namespace ioc::alerter
