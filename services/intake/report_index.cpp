#include "report_index.hpp"

#include <vector>

#include "ioc/codec/codec.hpp"
#include "ioc/core/log.hpp"
#include "ioc/kafka/admin.hpp"
#include "ioc/kafka/consumer.hpp"
#include "ioc/kafka/dead_letters.hpp"

namespace ioc::intake {

namespace {

constexpr auto kBrokerCallTimeout = std::chrono::seconds(5);
constexpr auto kCommitInterval = std::chrono::seconds(5);

// The partitions of `topic` in the plan, each to be read from the start.
std::vector<kafka::TopicPartition> whole_topic(const daemon::CommonConfig& c, const std::string& topic) {
  int partitions = 1;
  for (const auto& t : c.topics) {
    if (t.name == topic) partitions = t.partitions;
  }
  std::vector<kafka::TopicPartition> out;
  out.reserve(static_cast<std::size_t>(partitions));
  for (int p = 0; p < partitions; ++p) out.push_back({topic, p, kafka::TopicPartition::kOffsetBeginning, {}});
  return out;
}

}  // namespace

ReportIndex::ReportIndex(const Config& cfg, const Clock& clock, Metrics& metrics, Submissions& submissions,
                         ReportStore& store, const IdempotencyCache& idempotency, kafka::Producer& dead_letters,
                         std::function<void()> on_ready)
    : cfg_(cfg),
      clock_(clock),
      m_(metrics),
      submissions_(submissions),
      store_(store),
      idempotency_(idempotency),
      dead_letters_(dead_letters),
      backoff_(std::chrono::milliseconds(200), std::chrono::seconds(5)),
      on_ready_(std::move(on_ready)) {}

ReportIndex::~ReportIndex() { stop(); }

void ReportIndex::start() {
  thread_ = std::thread([this] { run(); });
}

void ReportIndex::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ReportIndex::stopping() const {
  std::lock_guard lock(mu_);
  return stop_;
}

bool ReportIndex::pause(Millis d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stop_; });
}

void ReportIndex::run() {
  const auto wait = [this](Millis d) { return pause(d); };
  try {
    kafka::Consumer::Options o;
    o.group_id = cfg_.common.service + "-status";
    kafka::Consumer consumer(cfg_.common.kafka, o);
    auto status_parts = whole_topic(cfg_.common, cfg_.status_topic);
    std::vector<std::int64_t> frontier(status_parts.size(), -1);
    auto committed = retry([&] { return consumer.committed(status_parts, kBrokerCallTimeout); }, backoff_, wait);
    if (!committed.ok()) return;  // stopping
    for (const auto& tp : *committed) {
      if (tp.partition >= 0 && static_cast<std::size_t>(tp.partition) < frontier.size()) {
        frontier[static_cast<std::size_t>(tp.partition)] = tp.offset < 0 ? 0 : tp.offset;
      }
    }
    auto parts = whole_topic(cfg_.common, cfg_.topic);
    // Retries are recognised once every report stored before this start
    // has been read back.
    std::vector<std::int64_t> report_end(parts.size(), 0);
    {
      kafka::Admin admin(cfg_.common.kafka);
      for (std::size_t p = 0; p < parts.size(); ++p) {
        auto w = retry([&] { return admin.watermarks(cfg_.topic, parts[p].partition, kBrokerCallTimeout); },
                       backoff_, wait);
        if (!w.ok()) return;  // stopping
        report_end[p] = w->log_end > w->log_start ? w->log_end : 0;
      }
    }
    std::vector<std::int64_t> report_pos(parts.size(), 0);
    std::vector<std::int64_t> next(status_parts.size(), -1);
    auto check_caught_up = [&] {
      for (std::size_t p = 0; p < parts.size(); ++p) {
        if (report_pos[p] < report_end[p]) return;
      }
      ready_.store(true);
      if (on_ready_) on_ready_();
      log::info("report index caught up", {{"reports", static_cast<std::int64_t>(store_.size())},
                                           {"idempotency_keys", static_cast<std::int64_t>(idempotency_.size())},
                                           {"following_reports", cfg_.follow_reports}});
      if (cfg_.follow_reports) return;
      // Only operator updates from now on: this intake indexes its own
      // reports as it stores them.
      std::vector<kafka::TopicPartition> rest = status_parts;
      for (std::size_t p = 0; p < rest.size(); ++p) {
        if (next[p] >= 0) rest[p].offset = next[p];
      }
      consumer.assign(rest);
    };
    const auto all = [&] {
      auto v = parts;
      v.insert(v.end(), status_parts.begin(), status_parts.end());
      return v;
    }();
    consumer.assign(all);
    check_caught_up();
    const kafka::DeadLetters dead_letters(cfg_.deadletter_topic, cfg_.common.service, dead_letters_);
    TimePoint last_commit = clock_.now();
    while (!stopping()) {
      for (const kafka::Message& msg : consumer.poll(500, std::chrono::milliseconds(200))) {
        if (msg.topic() == cfg_.topic) {
          if (static_cast<std::size_t>(msg.partition()) < report_pos.size()) {
            report_pos[static_cast<std::size_t>(msg.partition())] = msg.offset() + 1;
          }
          Report r;
          // A report that does not decode: the aggregator dead-letters it.
          if (codec::decode(msg.value(), r).ok()) submissions_.remember(r, Delivery::kDelivered);
          continue;
        }
        const auto p = static_cast<std::size_t>(msg.partition());
        if (p < next.size()) next[p] = msg.offset() + 1;
        ReportStatus u;
        Status st = codec::decode(msg.value(), u);
        if (st.ok()) {
          store_.apply(u);
          m_.updates_applied.Increment();
          continue;
        }
        if (p < frontier.size() && msg.offset() < frontier[p]) continue;  // dead-lettered before
        m_.updates_invalid.Increment();
        log::warn("invalid report status update dead-lettered",
                  {{"partition", msg.partition()}, {"offset", msg.offset()}, {"error", st.error().message}});
        (void)dead_letters.send(msg.view(), st.error().message);
      }
      if (!ready_.load()) check_caught_up();
      if (clock_.now() - last_commit > kCommitInterval) {
        last_commit = clock_.now();
        std::vector<kafka::TopicPartition> done;
        for (std::size_t p = 0; p < next.size(); ++p) {
          if (next[p] > frontier[p]) done.push_back({cfg_.status_topic, static_cast<std::int32_t>(p), next[p], {}});
        }
        if (!done.empty() && consumer.commit(done, std::chrono::seconds(2)).ok()) {
          for (const auto& tp : done) frontier[static_cast<std::size_t>(tp.partition)] = tp.offset;
        }
      }
    }
  } catch (const std::exception& e) {
    log::error("report index stopped; status lookups only know reports submitted since start, and spooled "
               "reports are replayed without checking the topic for them",
               {{"error", e.what()}});
    failed_.store(true);
    if (on_ready_) on_ready_();
  }
}

}  // namespace ioc::intake
