#pragma once
/// The views catalog: views files (deploy/config/views.yaml is the
/// reference of the language) parsed once, for every service. The
/// aggregator computes the views, the alerter checks rules against them,
/// the wall checks that the values it shows exist: all three read the same
/// ViewConfig, so a value name is spelled by one function
/// (window::value_names, then the ratios) and cannot drift between them.
///
/// Each view names its input stream (streams.hpp), a filter, group-by
/// fields, a time attribute, a window of any kind libs/window has, and its
/// aggregations. Everything is validated when the file is read: errors
/// throw ConfigError naming the file, line, key and what is allowed.
/// Immutable after loading; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ioc/views/streams.hpp"
#include "ioc/window/spec.hpp"

namespace ioc::views {

/// Which time a view's windows use.
enum class TimeAttribute : std::uint8_t {
  kOccurredAt,  // event time, from the source
  kReceivedAt,  // when intake (or the feed) accepted it
  kIngest,      // the Kafka record's timestamp
};

/// `field` has one of `values`.
struct Match {
  FieldId field = 0;
  std::vector<std::string> values;
};

/// A derived value: value_names[numerator] / sum of value_names[denominator]
/// (0 when the denominator is 0).
struct Ratio {
  std::string name;
  std::size_t numerator = 0;
  std::vector<std::size_t> denominator;
};

inline constexpr std::size_t kMaxGroupBy = 6;

struct ViewConfig {
  window::ViewSpec spec;  // name, window, lateness, emission, aggregations
  Stream stream = Stream::kReports;
  TimeAttribute time = TimeAttribute::kOccurredAt;
  std::vector<Match> filter;                // all must match
  std::vector<FieldId> group_by;            // always includes district
  std::vector<std::string> group_names;     // label names, in group_by order
  std::optional<FieldId> value_field;       // read by value aggregations
  std::optional<FieldId> distinct_field;    // read by distinct
  std::vector<Match> count_where;           // Event::fields[i] = 1 when count_where[i] matches
  std::vector<Ratio> ratios;
  std::vector<std::string> value_names;     // engine values (window::value_names), then ratios
  std::vector<std::size_t> gauge_values;    // indices into value_names exported as gauges
  std::size_t max_series = 0;               // gauge series per view at most
  int line = 0;                             // where the view starts in its file

  const std::string& name() const { return spec.name; }
  bool has_value(std::string_view value) const;
  /// A ratio is never summed over groups.
  bool is_ratio(std::string_view value) const;
  bool has_label(std::string_view label) const;
  /// True for tumbling and hopping windows: starts on a fixed grid.
  bool aligned() const;
  /// "count, online, online_ratio" for messages.
  std::string values_text() const;
};

class Catalog {
 public:
  Catalog() = default;

  /// Reads a views file; `key` is the setting that named it (for the error
  /// when it cannot be read). Throws ConfigError.
  static Catalog load(const std::string& path, const std::string& key = "views");
  /// `source` names the text in errors (usually its file).
  static Catalog parse(std::string_view yaml, const std::string& source);

  const std::vector<ViewConfig>& views() const { return views_; }
  const ViewConfig* find(std::string_view name) const;
  const std::string& source() const { return source_; }
  /// "a, b, c" for messages.
  std::string names() const;

 private:
  Catalog(std::vector<ViewConfig> views, std::string source) : views_(std::move(views)), source_(std::move(source)) {}

  std::vector<ViewConfig> views_;
  std::string source_;
};

/// What a service needs of one view: these values, grouped by at least
/// these labels. Checked at start (require()).
struct Need {
  std::string setting;  // the setting naming the view, e.g. "wall.views.transactions"
  std::string view;
  std::vector<std::string> values;
  std::vector<std::string> labels;
};

/// Throws ConfigError naming the setting, the view and the missing value or
/// label (and what the view has) for the first need the catalog does not
/// meet.
void require(const Catalog& catalog, const std::vector<Need>& needs);

}  // namespace ioc::views
