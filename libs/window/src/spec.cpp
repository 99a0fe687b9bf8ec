#include "ioc/window/spec.hpp"

#include <cmath>
#include <cstdio>
#include <set>

#include "ioc/window/event.hpp"
#include "ioc/window/sketch.hpp"

namespace ioc::window {
namespace {

std::string ms(Millis d) { return std::to_string(d.count()) + "ms"; }

Status duration_positive(const char* field, Millis d) {
  if (d.count() <= 0) return invalid_argument(std::string(field) + " must be > 0, got " + ms(d));
  if (d.count() > kMaxDurationMs) {
    return invalid_argument(std::string(field) + " must be <= 100 years (" + std::to_string(kMaxDurationMs) +
                            "ms), got " + ms(d));
  }
  return {};
}

Status duration_non_negative(const char* field, Millis d) {
  if (d.count() < 0) return invalid_argument(std::string(field) + " must be >= 0, got " + ms(d));
  if (d.count() > kMaxDurationMs) {
    return invalid_argument(std::string(field) + " must be <= 100 years (" + std::to_string(kMaxDurationMs) +
                            "ms), got " + ms(d));
  }
  return {};
}

template <typename T>
Result<T> or_error(const Status& s, T value) {
  if (!s.ok()) return s.error();
  return value;
}

std::string quantile_suffix(double q) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", q * 100);
  return std::string("_p") + buf;
}

}  // namespace

const char* to_string(WindowKind kind) {
  switch (kind) {
    case WindowKind::kTumbling: return "tumbling";
    case WindowKind::kHopping: return "hopping";
    case WindowKind::kSliding: return "sliding";
    case WindowKind::kSession: return "session";
  }
  return "unknown";
}

const char* to_string(AggregationKind kind) {
  switch (kind) {
    case AggregationKind::kCount: return "count";
    case AggregationKind::kSum: return "sum";
    case AggregationKind::kMin: return "min";
    case AggregationKind::kMax: return "max";
    case AggregationKind::kMean: return "mean";
    case AggregationKind::kLast: return "last";
    case AggregationKind::kCountWhere: return "count_where";
    case AggregationKind::kDistinct: return "distinct";
    case AggregationKind::kQuantiles: return "quantiles";
  }
  return "unknown";
}

const char* to_string(EmitMode mode) {
  switch (mode) {
    case EmitMode::kFinalOnly: return "final_only";
    case EmitMode::kOnUpdate: return "on_update";
    case EmitMode::kBoth: return "both";
  }
  return "unknown";
}

const char* to_string(EventOutcome outcome) {
  switch (outcome) {
    case EventOutcome::kAccepted: return "accepted";
    case EventOutcome::kLate: return "late";
    case EventOutcome::kRejected: return "rejected";
  }
  return "unknown";
}

Status validate(const WindowSpec& spec) {
  switch (spec.kind) {
    case WindowKind::kTumbling: return duration_positive("window.size", spec.size);
    case WindowKind::kHopping: {
      if (auto s = duration_positive("window.size", spec.size); !s.ok()) return s;
      if (auto s = duration_positive("window.advance", spec.advance); !s.ok()) return s;
      if (spec.advance > spec.size) {
        return invalid_argument("window.advance must be <= window.size (" + ms(spec.size) + "), got " +
                                ms(spec.advance));
      }
      return {};
    }
    case WindowKind::kSliding: return duration_positive("window.size", spec.size);
    case WindowKind::kSession: return duration_positive("window.gap", spec.gap);
  }
  return invalid_argument("window.kind is not a known window kind");
}

Result<WindowSpec> WindowSpec::tumbling(Millis size) {
  return or_error(validate(WindowSpec{WindowKind::kTumbling, size, size, Millis{0}}),
                  WindowSpec{WindowKind::kTumbling, size, size, Millis{0}});
}
Result<WindowSpec> WindowSpec::hopping(Millis size, Millis advance) {
  const WindowSpec w{WindowKind::kHopping, size, advance, Millis{0}};
  return or_error(validate(w), w);
}
Result<WindowSpec> WindowSpec::sliding(Millis size) {
  const WindowSpec w{WindowKind::kSliding, size, Millis{0}, Millis{0}};
  return or_error(validate(w), w);
}
Result<WindowSpec> WindowSpec::session(Millis gap) {
  const WindowSpec w{WindowKind::kSession, Millis{0}, Millis{0}, gap};
  return or_error(validate(w), w);
}

AggregationSpec AggregationSpec::count(std::string name) { return {std::move(name), AggregationKind::kCount, 0, 0, {}}; }
AggregationSpec AggregationSpec::sum(std::string name) { return {std::move(name), AggregationKind::kSum, 0, 0, {}}; }
AggregationSpec AggregationSpec::min(std::string name) { return {std::move(name), AggregationKind::kMin, 0, 0, {}}; }
AggregationSpec AggregationSpec::max(std::string name) { return {std::move(name), AggregationKind::kMax, 0, 0, {}}; }
AggregationSpec AggregationSpec::mean(std::string name) { return {std::move(name), AggregationKind::kMean, 0, 0, {}}; }
AggregationSpec AggregationSpec::last(std::string name) { return {std::move(name), AggregationKind::kLast, 0, 0, {}}; }
AggregationSpec AggregationSpec::count_where(std::string name, int field, std::int32_t match) {
  return {std::move(name), AggregationKind::kCountWhere, field, match, {}};
}
AggregationSpec AggregationSpec::distinct(std::string name) {
  return {std::move(name), AggregationKind::kDistinct, 0, 0, {}};
}
AggregationSpec AggregationSpec::quantile(std::string name, std::vector<double> quantiles) {
  return {std::move(name), AggregationKind::kQuantiles, 0, 0, std::move(quantiles)};
}

Status validate(const ViewSpec& spec) {
  const std::string where = "view \"" + spec.name + "\": ";
  auto fail = [&](const std::string& m) -> Status { return invalid_argument(where + m); };
  if (spec.name.empty()) return invalid_argument("view.name must not be empty");
  if (auto s = validate(spec.window); !s.ok()) return fail(s.error().message);
  if (spec.window.kind == WindowKind::kHopping) {
    // Panes are gcd(size, advance) wide; more than 10'000 panes per window is a typo.
    const auto size = spec.window.size.count();
    auto a = size;
    auto b = spec.window.advance.count();
    while (b != 0) {
      const auto t = a % b;
      a = b;
      b = t;
    }
    if (size / a > 10'000) {
      return fail("window.size / gcd(window.size, window.advance) must be <= 10000, got " +
                  std::to_string(size / a) + " (size " + ms(spec.window.size) + ", advance " +
                  ms(spec.window.advance) + ")");
    }
  }
  if (auto s = duration_non_negative("allowed_lateness", spec.allowed_lateness); !s.ok()) return fail(s.error().message);
  if (auto s = duration_non_negative("out_of_orderness", spec.out_of_orderness); !s.ok()) return fail(s.error().message);
  if (auto s = duration_non_negative("idle_timeout", spec.idle_timeout); !s.ok()) return fail(s.error().message);
  if (auto s = duration_non_negative("emit.min_interval", spec.emit.min_interval); !s.ok()) {
    return fail(s.error().message);
  }
  if (spec.aggregations.empty()) return fail("aggregations must not be empty (add at least a count)");
  std::set<std::string> names;
  for (std::size_t i = 0; i < spec.aggregations.size(); ++i) {
    const auto& a = spec.aggregations[i];
    const std::string field = "aggregations[" + std::to_string(i) + "]";
    if (a.name.empty()) return fail(field + ".name must not be empty");
    if (!names.insert(a.name).second) return fail(field + ".name \"" + a.name + "\" is used twice");
    switch (a.kind) {
      case AggregationKind::kCountWhere:
        if (a.field < 0 || a.field >= kEventFields) {
          return fail(field + ".field must be in [0, " + std::to_string(kEventFields - 1) + "], got " +
                      std::to_string(a.field));
        }
        break;
      case AggregationKind::kQuantiles:
        if (a.quantiles.empty()) return fail(field + ".quantiles must not be empty");
        for (const double q : a.quantiles) {
          if (!(q >= 0 && q <= 1)) return fail(field + ".quantiles must be in [0, 1], got " + std::to_string(q));
        }
        break;
      case AggregationKind::kCount:
      case AggregationKind::kSum:
      case AggregationKind::kMin:
      case AggregationKind::kMax:
      case AggregationKind::kMean:
      case AggregationKind::kLast:
      case AggregationKind::kDistinct: break;
    }
  }
  if (spec.sample_refs > kMaxSampleRefs) {
    return fail("sample_refs must be <= " + std::to_string(kMaxSampleRefs) + ", got " +
                std::to_string(spec.sample_refs));
  }
  if (spec.hll_precision < HyperLogLog::kMinPrecision || spec.hll_precision > HyperLogLog::kMaxPrecision) {
    return fail("hll_precision must be in [4, 16], got " + std::to_string(spec.hll_precision));
  }
  if (!(spec.quantile_accuracy >= 0.0001 && spec.quantile_accuracy <= 0.5)) {
    return fail("quantile_accuracy must be in [0.0001, 0.5], got " + std::to_string(spec.quantile_accuracy));
  }
  if (spec.quantile_max_buckets < 16 || spec.quantile_max_buckets > 65536) {
    return fail("quantile_max_buckets must be in [16, 65536], got " + std::to_string(spec.quantile_max_buckets));
  }
  return {};
}

std::vector<std::string> value_names(const ViewSpec& spec) {
  std::vector<std::string> out;
  for (const auto& a : spec.aggregations) {
    if (a.kind == AggregationKind::kQuantiles) {
      for (const double q : a.quantiles) out.push_back(a.name + quantile_suffix(q));
    } else {
      out.push_back(a.name);
    }
  }
  return out;
}

}  // namespace ioc::window
