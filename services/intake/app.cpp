#include "app.hpp"

#include "ioc/core/log.hpp"

namespace ioc::intake {

namespace {

constexpr std::size_t kReplayBatch = 500;

kafka::Producer::Options producer_options(const Config& cfg, std::function<void()> on_reachable) {
  kafka::Producer::Options o;
  // With a spool, a record lives until the broker stores it (or refuses it
  // for good): the answer does not wait for it past delivery_timeout, and a
  // record given up while the broker may still hold it would be stored
  // twice once its spooled copy is replayed. Without one, a report not
  // stored by the deadline is refused (503), and so must its record be.
  o.delivery_timeout = cfg.spool.dir.empty() ? cfg.delivery_timeout : std::chrono::milliseconds(0);
  o.linger = cfg.linger;
  o.on_reachable = std::move(on_reachable);
  return o;
}

std::unique_ptr<Spool> open_spool(const Config& cfg) {
  return cfg.spool.dir.empty() ? nullptr : std::make_unique<Spool>(cfg.spool);
}

}  // namespace

// The intake's producer, for the reports topic.
class Intake::ReportsOutlet final : public Outlet {
 public:
  ReportsOutlet(kafka::Producer& producer, std::string topic) : producer_(producer), topic_(std::move(topic)) {}
  Status produce(std::string_view key, std::string_view value, kafka::Producer::OnDelivery done) override {
    return producer_.produce(topic_, key, value, std::move(done));
  }
  bool reachable() const override { return producer_.connected(); }

 private:
  kafka::Producer& producer_;
  std::string topic_;
};

Intake::Intake(const Config& cfg, const Registry& registry, const Clock& clock, prometheus::Registry& metrics)
    : cfg_(cfg),
      m_(metrics),
      store_(cfg.max_indexed_reports),
      idempotency_(cfg.idempotency_max_keys, cfg.idempotency_window),
      spool_(open_spool(cfg)),
      outlet_(std::make_unique<ReportsOutlet>(producer_, cfg.topic)),
      handoff_(*outlet_, spool_.get(), clock,
               HandoffOptions{.answer_deadline = cfg.delivery_timeout, .replay_batch = kReplayBatch},
               HandoffHooks{
                   .delivered = [this](std::string_view id) { store_.set_delivery(id, Delivery::kDelivered); },
                   .replayed = [this](std::size_t n) { m_.spool_replayed.Increment(static_cast<double>(n)); },
                   .spool_refused = [this] { m_.spool_failed.Increment(); },
                   // Spooled reports go out once the topic's reports are
                   // read back, and never one that is on it already.
                   .topic_known = [this] { return index_.ready() || index_.failed(); },
                   .stored =
                       [this](const Report& r) {
                         const auto known = store_.get(r.id);
                         return known && known->delivery == Delivery::kDelivered;
                       },
                   .skipped = [this](std::size_t n) { m_.spool_skipped.Increment(static_cast<double>(n)); },
               }),
      producer_(cfg.common.kafka, producer_options(cfg, [this] { handoff_.wake_replayer(); })),
      admission_(cfg, clock, m_),
      submissions_(cfg, clock, m_, handoff_, store_, idempotency_,
                   // Until the reports stored before this start are read
                   // back, a retry could not be told from a new report.
                   [this] { return index_.ready() || !producer_.connected(); }),
      index_(cfg, clock, m_, submissions_, store_, idempotency_, producer_, [this] { handoff_.wake_replayer(); }),
      routes_(cfg, registry, clock, m_, admission_, submissions_, store_) {
  if (spool_) {
    // Reports waiting in the spool are known to lookups and retries at
    // once; read a batch at a time, as the replayer does.
    submissions_.remember_spooled(*spool_, kReplayBatch);
    m_.spool_corrupt.Set(static_cast<double>(spool_->corrupt_records()));
  }
  handoff_.start();
  index_.start();
}

Intake::~Intake() { flush(std::chrono::milliseconds(0)); }

void Intake::add_routes(http::Router& router) {
  routes_.add_to(router);
  router.set_gate([this](const http::Request& header, const std::string& peer) { return admission_.gate(header, peer); });
}

metrics::Readiness Intake::readiness() const {
  const bool broker = producer_.connected();
  metrics::Readiness r;
  r.details["broker_connected"] = broker;
  r.details["report_index_ready"] = index_.ready();
  if (spool_) {
    r.details["spool_depth"] = spool_->depth();
    r.details["spool_held"] = spool_->held();
    r.details["spool_bytes"] = spool_->bytes();
  }
  const bool full = spool_ && spool_->full();
  if (spool_) r.details["spool_full"] = full;
  if (full) {
    // Reports that wait for the broker, or queue behind the spool's
    // backlog, go there: refused with 503 until delivered segments go.
    r.ready = false;
    r.reason = "the spool is full (intake.spool.max_bytes " + std::to_string(cfg_.spool.max_bytes) +
               " bytes): reports that cannot be stored at once are refused until it drains";
    return r;
  }
  if (broker || spool_) return r;
  r.ready = false;
  r.reason = "kafka brokers unreachable (" + cfg_.common.kafka.bootstrap_servers + ") and no spool is configured";
  return r;
}

void Intake::refresh_gauges() {
  m_.connected.Set(producer_.connected() ? 1 : 0);
  m_.in_flight.Set(static_cast<double>(producer_.in_flight()));
  if (spool_) {
    m_.spool_depth.Set(static_cast<double>(spool_->depth()));
    m_.spool_held.Set(static_cast<double>(spool_->held()));
    m_.spool_bytes.Set(static_cast<double>(spool_->bytes()));
  }
  m_.indexed.Set(static_cast<double>(store_.size()));
  m_.idempotency_keys.Set(static_cast<double>(idempotency_.size()));
}

void Intake::reload_keys() { admission_.reload_keys(); }

void Intake::flush(std::chrono::milliseconds timeout) {
  handoff_.stop();
  // Reports still waiting for the broker either get their acknowledgement or
  // fail over to the spool, which therefore closes last. Records still in
  // flight after `timeout` are given up: their reports are in the spool
  // (held ones already), replayed at the next start.
  if (Status s = producer_.flush(timeout); !s.ok()) {
    log::warn("records not acknowledged at shutdown; their reports stay in the spool",
              {{"records", producer_.in_flight()}, {"error", s.error().message}});
  }
  producer_.purge();
  index_.stop();
  if (spool_) spool_->close();
}

int run(const Config& cfg) {
  if (cfg.common.check_only) {
    if (!cfg.keys_file.empty()) KeyRing check(cfg.keys_file);  // throws ConfigError when invalid
    return daemon::config_ok(cfg.common);
  }
  log::init(cfg.common.service, cfg.common.log_level);
  daemon::check_topics(cfg.common, {cfg.topic, cfg.status_topic});
  const Registry registry = daemon::load_registry(cfg.common);
  daemon::Front front(cfg.common, 2);
  Intake intake(cfg, registry, SystemClock::instance(), front.registry());
  intake.add_routes(front.router());
  front.on_reload([&intake] { intake.reload_keys(); });
  front.every(std::chrono::seconds(1), [&intake] { intake.refresh_gauges(); });
  front.start([&intake] { return intake.readiness(); });
  if (cfg.keys_file.empty()) {
    log::warn("authentication is off: anyone who reaches this port can submit and read reports "
              "(set intake.auth.keys_file)");
  }
  if (cfg.spool.dir.empty()) log::warn("the spool is off: reports get 503 while the broker is unreachable");
  log::info("intake ready", {{"topic", cfg.topic},
                             {"bootstrap_servers", cfg.common.kafka.bootstrap_servers},
                             {"spool", cfg.spool.dir},
                             {"auth", cfg.keys_file.empty() ? "off" : cfg.keys_file},
                             {"districts", static_cast<std::int64_t>(registry.districts().size())},
                             {"categories", static_cast<std::int64_t>(registry.categories().size())}});
  const int sig = front.wait_for_signal();
  log::info("shutting down", {{"signal", sig}});
  // Drain HTTP first: requests waiting for the broker still get their answer.
  front.stop(cfg.delivery_timeout);
  intake.flush(cfg.delivery_timeout);
  front.shutdown_done(0);
  return 0;
}

}  // namespace ioc::intake
