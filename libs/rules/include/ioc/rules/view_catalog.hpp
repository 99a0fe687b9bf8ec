#pragma once
/// ViewCatalog: what the alerter needs to know of the aggregator's views
/// (deploy/config/views.yaml): each view's group labels, window shape and
/// the names of the values its results carry. Rules are checked against it
/// (a rule on a view or value the aggregator does not produce is an error
/// in the rule file, not a silent never-firing alert), and baselines use the
/// window shape.
///
/// Value names follow the aggregator's: `count`; an aggregation's `name`;
/// quantiles as `<name>_p<q*100>` (p50, p95, p99, p99.9); ratios by name.
/// Immutable after loading; thread-safe.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ioc/core/clock.hpp"
#include "ioc/core/result.hpp"

namespace ioc::rules {

struct ViewInfo {
  enum class Window : std::uint8_t { kTumbling, kHopping, kSliding, kSession };
  std::string name;
  std::vector<std::string> group_by;
  Window window = Window::kTumbling;
  Millis size{0};     // tumbling, hopping, sliding: the length; session: the gap
  Millis advance{0};  // hopping: the hop; tumbling: == size
  std::set<std::string> values;
  std::set<std::string> ratios;  // the subset of values that are ratios (never summed)
  int line = 0;

  bool has_label(std::string_view label) const;
  /// True for tumbling and hopping windows: starts on a fixed grid.
  bool aligned() const { return window == Window::kTumbling || window == Window::kHopping; }
};

class ViewCatalog {
 public:
  ViewCatalog() = default;
  explicit ViewCatalog(std::vector<ViewInfo> views, std::string source = "views");

  /// Reads views.yaml. Errors name the file, line and key.
  [[nodiscard]] static Result<ViewCatalog> load_file(const std::string& path);
  [[nodiscard]] static Result<ViewCatalog> parse(std::string_view yaml, const std::string& source);

  const ViewInfo* find(std::string_view name) const;
  const std::vector<ViewInfo>& views() const { return views_; }
  const std::string& source() const { return source_; }
  /// "a, b, c" for messages.
  std::string names() const;

 private:
  std::vector<ViewInfo> views_;
  std::string source_;
};

/// "p50", "p95", "p99", "p99.9" for a quantile q in (0, 1).
std::string quantile_suffix(double q);

}  // namespace ioc::rules
