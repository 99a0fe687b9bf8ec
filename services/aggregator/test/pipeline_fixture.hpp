#pragma once
// Test-only: a Pipeline wired to in-memory records and a recording sink,
// with its own Prometheus registry and a small district/category registry.

#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "ioc/codec/codec.hpp"
#include "ioc/kafka/fakes/fakes.hpp"
#include "ioc/kafka/client_config.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"

namespace ioc::aggregator::testing {

/// Outputs into an Outbox, as the Aggregator's producer would send them.
class RecordingSink : public Sink {
 public:
  void result(std::string_view key, std::string_view value) override {
    outbox.produce(kafka::topics::kAggregates, key, value);
  }
  void dead_letter(const kafka::RecordView& r, std::string_view reason) override {
    outbox.produce(kafka::topics::kDeadLetter, r.key, r.value, kafka::dead_letter_headers(r, reason, "ioc-aggregator"));
  }
  /// The results produced so far, decoded.
  std::vector<WindowResult> results() const {
    std::vector<WindowResult> out;
    for (const auto& p : outbox.on(kafka::topics::kAggregates)) {
      WindowResult r;
      if (codec::decode(p.value, r).ok()) out.push_back(std::move(r));
    }
    return out;
  }
  std::vector<kafka::fakes::Produced> dead_letters() const { return outbox.on(kafka::topics::kDeadLetter); }

  kafka::fakes::Outbox outbox;
};

/// The views of a views file's text (ConfigError when invalid).
inline std::vector<ViewConfig> parse_views(std::string_view yaml, const std::string& file) {
  return views::Catalog::parse(yaml, file).views();
}

inline Registry test_registry() {
  return Registry({{"380", "Thanh Hoa", "thanh-hoa"}, {"381", "Sam Son", "sam-son"}, {"382", "Bim Son", "bim-son"}},
                  {{"flood", "Flood", "", "", ""}, {"fire", "Fire", "", "", ""}, {"traffic", "Traffic", "", "", ""}});
}

/// A pipeline over `views` with one unit per (stream, partition) in `units`,
/// each assigned as a fresh partition.
class Harness {
 public:
  /// `duplicates_window`: Config::duplicates_window.
  Harness(std::vector<ViewConfig> views, const std::vector<UnitId>& units,
          std::chrono::milliseconds duplicates_window = Config{}.duplicates_window)
      : registry_(test_registry()) {
    cfg_.common.service = "ioc-aggregator";
    cfg_.views = std::move(views);
    cfg_.duplicates_window = duplicates_window;
    metrics_ = std::make_unique<Metrics>(prom_);
    pipeline_ = std::make_unique<Pipeline>(cfg_, registry_, *metrics_, sink_);
    for (const auto& [stream, partition] : units) add(stream, partition).engine.assign_partition(partition);
  }

  /// A new unit, sealed as if its epoch's checkpoint were stored.
  Unit& add(Stream s, std::int32_t partition) {
    Unit& u = pipeline_->add_unit(s, partition);
    u.sealed = true;
    return u;
  }

  Pipeline& pipeline() { return *pipeline_; }
  Metrics& metrics() { return *metrics_; }
  RecordingSink& sink() { return sink_; }
  kafka::fakes::Log& log() { return log_; }
  Unit& unit(Stream s, std::int32_t p) { return *pipeline_->find({s, p}); }

  /// Hands the log's records of a partition from `offset` on to the
  /// pipeline again (a consumer seeking back).
  void reread(Stream s, std::int32_t partition, std::int64_t offset) {
    for (const auto& r : log_.records()) {
      if (r.topic == topic_of(s) && r.partition == partition && r.offset >= offset) pipeline_->handle(r.view());
    }
  }
  /// Appends a record to the in-memory log and hands it to the pipeline.
  const kafka::fakes::Record& feed(Stream s, std::int32_t partition, std::string_view key, std::string_view value,
                                   std::int64_t timestamp_ms) {
    const auto& r = log_.append(topic_of(s), partition, key, value, timestamp_ms);
    pipeline_->handle(r.view());
    return r;
  }
  template <typename T>
  const kafka::fakes::Record& feed(Stream s, std::int32_t partition, const T& record, std::int64_t timestamp_ms) {
    return feed(s, partition, record.district, codec::encode(record), timestamp_ms);
  }
  /// Advances every unit to `now_ms`.
  void advance(std::int64_t now_ms) {
    pipeline_->set_now(now_ms);
    pipeline_->flush_counts();
    for (const auto& [id, u] : pipeline_->units()) pipeline_->advance(*u);
  }

  double view_events(const std::string& view, const std::string& outcome) {
    return metrics_->view_events.Add({{"view", view}, {"outcome", outcome}}).Value();
  }

 private:
  Config cfg_;
  Registry registry_;
  prometheus::Registry prom_;
  std::unique_ptr<Metrics> metrics_;
  RecordingSink sink_;
  kafka::fakes::Log log_;
  std::unique_ptr<Pipeline> pipeline_;
};

}  // namespace ioc::aggregator::testing
