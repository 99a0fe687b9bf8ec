#pragma once
/// View specifications: what one window view computes (window kind, aggregations,
/// lateness, emission policy, watermark settings). Plain values with std::chrono
/// durations; validate() once at startup and get a message naming the field.
/// Thread-safety: value types, same rules as std::vector.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ioc/core/result.hpp"

namespace ioc::window {

using Millis = std::chrono::milliseconds;

/// Caller-interned group key (district id, station id, ...).
using GroupKey = std::uint64_t;
/// Index of a view inside an Engine, in the order of the specs given to it.
using ViewId = std::uint32_t;

/// Largest duration accepted anywhere in a spec: 100 years.
inline constexpr std::int64_t kMaxDurationMs = 100LL * 366 * 24 * 3600 * 1000;
/// Event times outside [kMinEventTimeMs, kMaxEventTimeMs] (about ±36 million
/// years) are rejected per event (EventOutcome::kRejected); inside it, all
/// window arithmetic is free of overflow.
inline constexpr std::int64_t kMinEventTimeMs = -(std::int64_t{1} << 60);
inline constexpr std::int64_t kMaxEventTimeMs = std::int64_t{1} << 60;
/// Number of small integer "field values" an Event carries for count_where.
inline constexpr int kEventFields = 4;
/// Upper bound for ViewSpec::sample_refs.
inline constexpr std::uint32_t kMaxSampleRefs = 16;

enum class WindowKind : std::uint8_t {
  kTumbling,  // [k*size, (k+1)*size)
  kHopping,   // [k*advance, k*advance + size); size/advance windows overlap
  kSliding,   // Kafka Streams sliding windows: [t - size, t] inclusive per distinct event time
  kSession,   // events closer than gap form one session [first, last + gap)
};
const char* to_string(WindowKind kind);

/// Window shape. Build with the factories (they validate) or fill the fields and
/// call validate(). All windows are aligned to the Unix epoch.
struct WindowSpec {
  WindowKind kind = WindowKind::kTumbling;
  Millis size{0};     // tumbling, hopping, sliding (sliding: the max time difference)
  Millis advance{0};  // hopping only (tumbling: ignored, equals size)
  Millis gap{0};      // session only: inactivity gap

  static Result<WindowSpec> tumbling(Millis size);
  static Result<WindowSpec> hopping(Millis size, Millis advance);
  static Result<WindowSpec> sliding(Millis size);
  static Result<WindowSpec> session(Millis gap);

  friend bool operator==(const WindowSpec&, const WindowSpec&) = default;
};
[[nodiscard]] Status validate(const WindowSpec& spec);

enum class AggregationKind : std::uint8_t {
  kCount,       // number of events
  kSum,         // sum of Event::value
  kMin,         // smallest value
  kMax,         // largest value
  kMean,        // sum / count
  kLast,        // value of the event with the greatest event time (ties: the later arrival)
  kCountWhere,  // number of events with fields[field] == match
  kDistinct,    // distinct Event::distinct_hash values, HyperLogLog (see sketch.hpp for the error)
  kQuantiles,   // quantiles of value from a DDSketch (relative error <= quantile_accuracy)
};
const char* to_string(AggregationKind kind);

/// One aggregation of a view. Every aggregation is mergeable, so windows are
/// assembled from per-slice partial aggregates and snapshots can be merged.
/// A ratio (online / total) is two aggregations of the same view divided by the
/// caller: e.g. count_where(channel == online) / count.
struct AggregationSpec {
  std::string name;
  AggregationKind kind = AggregationKind::kCount;
  int field = 0;                   // kCountWhere: index into Event::fields
  std::int32_t match = 0;          // kCountWhere: value that counts
  std::vector<double> quantiles;   // kQuantiles: each in [0, 1], e.g. {0.5, 0.9, 0.95, 0.99}

  static AggregationSpec count(std::string name);
  static AggregationSpec sum(std::string name);
  static AggregationSpec min(std::string name);
  static AggregationSpec max(std::string name);
  static AggregationSpec mean(std::string name);
  static AggregationSpec last(std::string name);
  static AggregationSpec count_where(std::string name, int field, std::int32_t match);
  static AggregationSpec distinct(std::string name);
  static AggregationSpec quantile(std::string name, std::vector<double> quantiles);

  friend bool operator==(const AggregationSpec&, const AggregationSpec&) = default;
};

enum class EmitMode : std::uint8_t {
  kFinalOnly,  // exactly one result per key-window, final = true, revision 1, when the
               // watermark reaches end + allowed_lateness (Kafka Streams' emit-final)
  kOnUpdate,   // early results (final = false) at most once per min_interval per key while the
               // window is open; pending changes are flushed when it closes, so the last result
               // equals the final value (still final = false)
  kBoth,       // kOnUpdate's early results plus exactly one final = true result at close
};
const char* to_string(EmitMode mode);

struct EmitPolicy {
  EmitMode mode = EmitMode::kFinalOnly;
  Millis min_interval{1000};  // processing time between two early emissions of one key
  friend bool operator==(const EmitPolicy&, const EmitPolicy&) = default;
};

/// Everything one view needs. Defaults are usable; name, window and aggregations
/// must be set.
struct ViewSpec {
  std::string name;
  WindowSpec window;
  std::vector<AggregationSpec> aggregations;
  Millis allowed_lateness{0};    // windows stay open this long after the watermark passes their end
  Millis out_of_orderness{0};    // partition watermark = max event time - out_of_orderness
  Millis idle_timeout{30'000};   // a partition without events for this long stops holding the
                                 // watermark back; when all are idle the watermark follows
                                 // processing time. 0 disables idleness.
  EmitPolicy emit;
  std::uint32_t sample_refs = 0;          // keep up to this many Event::record_ref per window
  int hll_precision = 12;                 // kDistinct: 2^p registers, std error 1.04/sqrt(2^p)
  double quantile_accuracy = 0.01;        // kQuantiles: relative accuracy alpha
  std::uint32_t quantile_max_buckets = 2048;
  bool keep_last_final = true;            // remember the last final result per key (queryable state)
  /// What the caller feeds this view, as its own fingerprint (which records,
  /// grouped how, which fields): part of the view's identity for snapshots,
  /// so a view fed differently starts empty instead of mixing two inputs.
  std::uint64_t input = 0;

  friend bool operator==(const ViewSpec&, const ViewSpec&) = default;
};

/// Checks every field; the message names the view and the field, e.g.
/// `view "reports_15m": window.size must be > 0, got -5ms`.
[[nodiscard]] Status validate(const ViewSpec& spec);

/// Names of the values of each result, in order: one per aggregation, except
/// kQuantiles which gives one per requested quantile named `<name>_p<pct>`
/// (0.95 -> "latency_p95", 0.999 -> "latency_p99.9").
std::vector<std::string> value_names(const ViewSpec& spec);

}  // namespace ioc::window
