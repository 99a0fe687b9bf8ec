#pragma once
/// WallState: what the operations wall shows, as a read model of the topics.
///
/// It folds three inputs into the latest picture of the province:
///   - window results (ioc.aggregates.v1): a higher revision of the same
///     view, group and window start replaces a lower one; a lower or equal
///     one arriving later (a replay) changes nothing;
///   - alert events (ioc.alerts.v1): the latest state per fingerprint;
///     resolved alerts stay visible for a while, greyed;
///   - citizen reports (ioc.reports.v1): the latest few, and a bounded index
///     by id so an alert's evidence (report ids) can show what was reported.
/// From them it renders the wall's sections as JSON: districts, KPIs with
/// sparklines, alerts, latest reports and per-feed freshness. Alerts are
/// shown one card per incident: a firing alert that another one inhibits
/// (WallOptions::inhibitions) is folded into that one's card, and colours
/// no district of its own.
///
/// Which window a KPI shows: of the view's windows that contain `now`, the
/// one that started first (for hopping windows the most complete, e.g. the
/// last 15 minutes; for tumbling ones the current window); when none
/// contains `now`, the latest window that ended less than one window length
/// ago (the hour that just closed); otherwise none (no data: counts are 0,
/// ratios unknown).
///
/// Memory is bounded by the options: windows per group, groups per view,
/// stations, alerts, reports and sparkline points.
///
/// Time comes only from the caller (arrival times, `now`): pure and
/// deterministic. Not thread-safe: the owner serialises calls.

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ioc/core/clock.hpp"
#include "ioc/core/model.hpp"
#include "ioc/core/registry.hpp"
#include "ioc/rules/inhibition.hpp"
#include "ioc/views/catalog.hpp"
#include "kpi_standing.hpp"

namespace ioc::wall {

/// The aggregator views (deploy/config/views.yaml) each part of the wall reads.
struct ViewNames {
  std::string reports = "reports_15m";          // count per district × category
  std::string transactions = "transactions_1h";  // count, online, completed, overdue per district
  std::string processing = "processing_1h";      // processing_ms_p95 per district
  std::string stations = "station_5m";           // count (and last_seen, if present) per district × station × kind
  std::string water_level = "water_level_10m";   // max per district × station
  std::string rainfall = "rainfall_1h";          // sum per district
};

/// The values the wall reads from the views' results, as the aggregator
/// names them (views::ViewConfig::value_names). `count` falls back to a
/// result's own count; `last_seen` is read when a station view has it.
namespace value {
inline constexpr std::string_view kCount = "count";
inline constexpr std::string_view kOnline = "online";
inline constexpr std::string_view kCompleted = "completed";
inline constexpr std::string_view kOverdue = "overdue";
inline constexpr std::string_view kProcessingP95 = "processing_ms_p95";
inline constexpr std::string_view kMax = "max";
inline constexpr std::string_view kSum = "sum";
inline constexpr std::string_view kLastSeen = "last_seen";
}  // namespace value

/// What the wall reads of each view, in `wall.views.*` terms: checked at
/// start against the views file (views::require), so a view without a
/// value the wall shows is an error naming both, not a KPI stuck at 0.
std::vector<views::Need> needs(const ViewNames& views);

/// The three input feeds whose freshness the wall shows.
enum class Feed : std::uint8_t { kReports, kTransactions, kTelemetry };
inline constexpr Feed kFeeds[] = {Feed::kReports, Feed::kTransactions, Feed::kTelemetry};
const char* to_string(Feed feed);

struct WallOptions {
  ViewNames views;
  KpiTargets targets;  // each district's standing (districts[].targets), and the province's online tile
  /// A feed is stale when none of its results arrived for this long.
  std::chrono::milliseconds stale_reports{std::chrono::minutes(2)};
  std::chrono::milliseconds stale_transactions{std::chrono::minutes(2)};
  std::chrono::milliseconds stale_telemetry{std::chrono::minutes(1)};
  /// A BTS station counts as reporting when it was last heard within this,
  /// and in the total when within station_horizon.
  std::chrono::milliseconds station_silence{std::chrono::seconds(90)};
  std::chrono::milliseconds station_horizon{std::chrono::hours(1)};
  std::string station_kind = "bts_heartbeat";  // the `kind` label of BTS stations
  std::size_t latest_reports = 12;
  std::size_t evidence_reports = 5000;  // reports remembered by id
  std::size_t evidence_per_alert = 5;
  std::chrono::milliseconds sparkline_interval{std::chrono::seconds(10)};
  std::size_t sparkline_points = 90;
  std::chrono::milliseconds resolved_visible{std::chrono::minutes(15)};
  /// The rules' inhibitions (the alerter's rule files): a firing alert
  /// another one inhibits is shown folded into that one's card.
  std::vector<rules::Inhibition> inhibitions;
  std::size_t max_alerts = 1000;
  std::size_t max_resolved = 50;
  std::size_t max_windows_per_group = 24;
  std::size_t max_groups_per_view = 20'000;
  std::size_t max_stations = 100'000;
  /// Windows that ended longer ago than this are dropped.
  std::chrono::milliseconds keep_windows{std::chrono::hours(3)};
};

/// What became of one input record.
enum class Outcome : std::uint8_t {
  kApplied,   // changed the state
  kStale,     // an older or equal revision/state than what is held: nothing to do
  kIgnored,   // a view the wall does not show
  kInvalid,   // decodable but unusable (no fingerprint, unknown state, no view)
  kMalformed, // not a record of the topic's schema at all
};
const char* to_string(Outcome outcome);

/// The wall's sections, rendered at one instant.
struct Sections {
  boost::json::value districts;
  boost::json::value kpis;
  boost::json::value alerts;
  boost::json::value reports;
  boost::json::value freshness;
};

/// Sizes of what is held, for metrics and tests.
struct Sizes {
  std::size_t windows = 0;
  std::size_t groups = 0;
  std::size_t stations = 0;
  std::size_t active_alerts = 0;
  std::size_t resolved_alerts = 0;
  std::size_t reports = 0;   // in the evidence index
  std::size_t sparkline_points = 0;
};

class WallState {
 public:
  WallState(WallOptions options, const Registry& registry);

  Outcome apply(const WindowResult& r, TimePoint arrival);
  Outcome apply(const AlertEvent& a, TimePoint arrival);
  Outcome apply(const Report& r, TimePoint arrival);

  /// Moves time to `now`: drops what aged out and, when `sample` is true and
  /// a sparkline interval passed, records a point of every KPI series.
  void advance(TimePoint now, bool sample);

  Sections render(TimePoint now) const;
  Sizes sizes() const;
  const WallOptions& options() const { return options_; }

  /// Active alerts per severity (firing only), for metrics.
  std::map<std::string, std::size_t> firing_by_severity() const;
  /// Seconds since the feed's last result arrived (nullopt: never).
  std::optional<double> feed_age_seconds(Feed feed, TimePoint now) const;
  bool feed_stale(Feed feed, TimePoint now) const;

 private:
  struct Stored {
    TimePoint end{};
    std::uint32_t revision = 0;
    bool final = false;
    std::int64_t count = 0;
    std::vector<WindowResult::Value> values;
    std::optional<double> value(std::string_view name) const;
    TransactionTotals transactions() const;  // of a transactions view's result
  };
  struct Group {
    std::vector<Label> labels;
    std::map<std::int64_t, Stored> windows;  // by window start (ms)
    TimePoint updated{};
    std::string_view label(std::string_view name) const;
  };
  struct View {
    std::unordered_map<std::string, Group> groups;  // by group key ("380/flood")
  };
  /// The window a view's KPIs read at `now`: its start and end.
  struct Window {
    std::int64_t start = 0;
    std::int64_t end = 0;
  };
  struct Station {
    std::string district;
    TimePoint last_seen{};
    std::int64_t window = std::numeric_limits<std::int64_t>::min();  // start of the latest window it was in
    std::int64_t count = 0;                                           // heartbeats in that window so far
  };
  struct FeedState {
    std::optional<TimePoint> last_arrival;
    std::optional<TimePoint> watermark;
  };
  struct Point {
    std::int64_t t = 0;
    double v = 0;
  };
  struct Evidence {
    std::string id;
    std::string district;
    std::string category;
    std::string description;
    std::string address;
    TimePoint occurred_at{};
    TimePoint received_at{};
  };

  // KPI values at `now`, shared by rendering and sparklines.
  struct Kpis {
    std::optional<Window> reports_window;
    std::int64_t reports_total = 0;
    std::vector<std::int64_t> reports_by_category;  // registry order
    std::optional<Window> transactions_window;
    TransactionTotals tx;
    std::optional<double> online_rate;
    std::optional<double> overdue_ratio;
    std::optional<Window> processing_window;
    std::optional<double> p95_ms;
    std::string p95_district;
    std::size_t stations_reporting = 0;
    std::size_t stations_total = 0;
    std::optional<Window> water_window;
    std::optional<double> water_max;
    std::string water_district;
    std::string water_station;
  };

  /// The firing alerts, most severe first, then the longest-standing, and
  /// where each is folded (one card per incident).
  struct Cards {
    std::vector<const AlertEvent*> firing;
    std::vector<rules::Folded> folds;
  };

  std::optional<Window> window_at(const View& view, TimePoint now) const;
  Cards fold_alerts() const;
  Kpis compute(TimePoint now) const;
  const View* view(const std::string& name) const;
  std::optional<Feed> feed_of(std::string_view view) const;
  std::chrono::milliseconds stale_after(Feed feed) const;
  void apply_station(const WindowResult& r, TimePoint arrival);
  void evict_group(View& view);
  void push_point(const std::string& series, std::int64_t t, std::optional<double> v);
  boost::json::value render_districts(const Kpis& k, const Cards& cards, TimePoint now) const;
  boost::json::value render_kpis(const Kpis& k) const;
  boost::json::value render_alerts(const Cards& cards, TimePoint now) const;
  boost::json::value render_reports() const;
  boost::json::value render_freshness(TimePoint now) const;
  boost::json::value render_alert(const AlertEvent& a, TimePoint now) const;
  boost::json::value history(const std::string& series) const;
  std::string district_of(const AlertEvent& a) const;
  std::string district_name(std::string_view code) const;

  WallOptions options_;
  const Registry& registry_;
  std::map<std::string, View, std::less<>> views_;
  std::unordered_map<std::string, Station> stations_;
  FeedState feeds_[3];
  std::unordered_map<std::string, AlertEvent> active_;  // by fingerprint
  std::deque<AlertEvent> resolved_;  // ended (resolved, or canceled while pending), newest first
  std::deque<std::string> latest_;                      // report ids, newest first
  std::unordered_map<std::string, Evidence> evidence_;
  std::deque<std::string> evidence_order_;  // oldest first, for eviction
  std::map<std::string, std::deque<Point>> series_;
  std::optional<TimePoint> next_sample_;
};

}  // namespace ioc::wall
