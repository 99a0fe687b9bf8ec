#pragma once
/// History: the steady province (and any scenarios placed in it) over a
/// past span, produced as fast as it is asked for instead of in real time.
/// Records carry their simulated times wherever a view reads time: a
/// report's occurred_at and received_at, a reading's occurred_at and
/// received_at, and the Kafka timestamp (views with `time: ingest`).
/// Reports go straight to ioc.reports.v1 as the intake would store them,
/// with ids derived from the seed and their number, so writing the same
/// history twice stores ids the aggregator counts once.
///
/// Deterministic for a seed, rates and span. Not thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "generator.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/core/registry.hpp"

namespace ioc::sim {

struct HistoryRates {
  double reports_per_second = 0;
  double transactions_per_second = 0;
  double telemetry_per_second = 0;
  double air_quality_per_second = 0;
};

/// One record for a topic, at its simulated time.
struct HistoryRecord {
  const char* topic = nullptr;
  std::string key;
  std::string bytes;
  TimePoint time{};
};

class History {
 public:
  /// The span [from, to); `options.timeline` places the scenarios.
  History(const Registry& registry, const GeneratorOptions& options, HistoryRates rates, TimePoint from, TimePoint to);

  /// Replaces `out` with the records of the next `step` of simulated time,
  /// in time order. False (and `out` empty) once the span is written.
  bool next(Millis step, std::vector<HistoryRecord>& out);
  /// Simulated time written up to.
  TimePoint time() const { return now_; }
  TimePoint from() const { return from_; }
  TimePoint to() const { return to_; }

 private:
  HistoryRecord report(Report r, TimePoint at);

  std::uint64_t seed_;
  Generator reports_, surge_, transactions_, telemetry_, air_;
  HistoryRates rates_;
  double flood_rate_;
  TimePoint from_, to_, now_;
  std::uint64_t reports_written_ = 0;
  std::uint64_t sent_[5] = {};
};

}  // namespace ioc::sim
