#include "history.hpp"

#include <algorithm>
#include <cmath>

#include "ioc/codec/codec.hpp"
#include "ioc/core/ids.hpp"
#include "ioc/core/topics.hpp"

namespace ioc::sim {

namespace {

/// Each stream draws from a generator of its own, as the live threads do.
GeneratorOptions seeded(const GeneratorOptions& o, std::uint64_t stream) {
  GeneratorOptions s = o;
  s.seed = o.seed * 16 + stream;
  return s;
}

template <typename Record>
HistoryRecord encoded(const char* topic, const Record& r, TimePoint at) {
  HistoryRecord out{topic, r.district, {}, at};
  codec::encode(r, out.bytes);
  return out;
}

}  // namespace

History::History(const Registry& registry, const GeneratorOptions& options, HistoryRates rates, TimePoint from,
                 TimePoint to)
    : seed_(options.seed),
      reports_(registry, options),
      surge_(registry, seeded(options, 1)),
      transactions_(registry, seeded(options, 2)),
      telemetry_(registry, seeded(options, 3)),
      air_(registry, seeded(options, 4)),
      rates_(rates),
      flood_rate_(options.timeline.max_flood_rate()),
      from_(from),
      to_(to),
      now_(from) {}

HistoryRecord History::report(Report r, TimePoint at) {
  // As the intake stores it: an id (here derived, so that a history written
  // twice holds each report once for the aggregator), its receipt time.
  r.id = name_uuid("ioc-sim-history/" + std::to_string(seed_) + "/" + std::to_string(++reports_written_));
  r.received_at = at;
  r.source = "history";
  return encoded(topics::kReports, r, at);
}

bool History::next(Millis step, std::vector<HistoryRecord>& out) {
  out.clear();
  if (now_ >= to_) return false;
  const TimePoint until = std::min(now_ + step, to_);
  const double elapsed = std::chrono::duration<double>(until - from_).count();
  const double rates[] = {rates_.reports_per_second, flood_rate_, rates_.transactions_per_second,
                          rates_.telemetry_per_second, rates_.air_quality_per_second};
  for (std::size_t k = 0; k < std::size(rates); ++k) {
    const auto due = static_cast<std::uint64_t>(std::floor(elapsed * rates[k]));
    const std::uint64_t n = due > sent_[k] ? due - sent_[k] : 0;
    sent_[k] = std::max(due, sent_[k]);
    for (std::uint64_t i = 0; i < n; ++i) {
      // Spread evenly over the step.
      const TimePoint at = now_ + (until - now_) * static_cast<std::int64_t>(i + 1) / static_cast<std::int64_t>(n + 1);
      switch (k) {
        case 0: out.push_back(report(reports_.next_report(at), at)); break;
        case 1:
          if (auto r = surge_.next_flood_report(at)) out.push_back(report(std::move(*r), at));
          break;
        case 2: out.push_back(encoded(topics::kTransactions, transactions_.next_transaction(at), at)); break;
        case 3: out.push_back(encoded(topics::kTelemetry, telemetry_.next_telemetry(at), at)); break;
        default: out.push_back(encoded(topics::kAirQuality, air_.next_air_quality(at), at)); break;
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const HistoryRecord& a, const HistoryRecord& b) { return a.time < b.time; });
  now_ = until;
  return true;
}

}  // namespace ioc::sim
