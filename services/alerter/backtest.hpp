#pragma once
/// Backtest: how often rules would have fired over a span of history, before
/// they are switched on. The window results of ioc.aggregates.v1 are fed
/// through the live service's own Pipeline (so the same Evaluator, the same
/// evaluation every alerter.evaluation_interval, the same `for`,
/// `keep_firing_for`, `absent_for` and baselines), on a ManualClock that
/// follows the results' watermarks instead of the wall clock. Nothing is
/// published or notified: the alert events are summarised per rule and per
/// alert group.
///
/// BacktestReport summarises events (pure, unit-tested); Backtest drives the
/// Pipeline from records (no Kafka); run_backtest() reads the topic.

#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "config.hpp"
#include "ioc/core/clock.hpp"
#include "ioc/core/model.hpp"
#include "ioc/core/registry.hpp"
#include "ioc/kafka/record.hpp"
#include "ioc/rules/rule.hpp"
#include "ioc/views/catalog.hpp"

namespace boost::json {
class value;
}

namespace ioc::alerter {

/// What a backtest prints, per rule and per alert group (its labels).
class BacktestReport {
 public:
  struct Counts {
    int firing_episodes = 0;
    Millis firing{0};            // total time firing (episodes still firing: up to the end)
    int pending_never_fired = 0;  // pending episodes that ended without firing
    int flaps = 0;               // episodes that fired again within keep_firing_for of resolving
    std::optional<TimePoint> first_fire, last_fire;
    bool still_firing = false;
  };

  /// Every rule is listed, also those that never fired. Only episodes that
  /// begin in [from, to) are counted.
  BacktestReport(const rules::RuleSet& rules, TimePoint from, TimePoint to);
  void add(const AlertEvent& e);
  /// Closes the episodes still firing at `end`.
  void finish(TimePoint end);

  Counts totals() const;
  boost::json::value to_json() const;
  std::string to_text() const;

 private:
  struct Group {
    std::vector<Label> labels;
    Counts counts;
    std::optional<TimePoint> firing_since;
    std::optional<TimePoint> resolved_at;
  };
  struct RuleEntry {
    Millis keep_firing_for{0};
    std::map<std::string, Group> groups;  // by fingerprint
  };
  bool counts(TimePoint t) const { return t >= from_ && t < to_; }

  std::map<std::string, RuleEntry> rules_;
  TimePoint from_, to_;
  std::uint64_t results_ = 0;
  std::uint64_t late_ = 0;  // results fed with a watermark behind the clock (out of order)
  friend class Backtest;
};

/// The Pipeline fed from records of ioc.aggregates.v1 in the order given
/// (run_backtest() gives them in watermark order), its clock at the highest
/// watermark fed; between results that far apart the clock steps by
/// alerter.evaluation_interval, as live time would pass.
class Backtest {
 public:
  Backtest(const Config& cfg, rules::RuleSet rules, const views::Catalog& views, const Registry& registry,
           TimePoint from, TimePoint to);
  ~Backtest();

  /// One record with the watermark of its result (nullopt: it does not
  /// decode, and the pipeline sets it aside); false once the watermark is
  /// past `to` (the span is over).
  bool feed(const kafka::RecordView& record, std::optional<TimePoint> watermark);
  /// Evaluates up to `end` (the last result's time, or `to`) and closes the report.
  const BacktestReport& finish(TimePoint end);
  TimePoint now() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::optional<TimePoint> started_;
};

/// The order a backtest feeds the results read from ioc.aggregates.v1:
/// by watermark. A result's watermark is its aggregator unit's (one input
/// partition of one stream), and a unit writes its results in its
/// watermark's order; but a partition of the topic interleaves the results
/// of every unit, and the units of a replay are not in step (the
/// aggregator reads an hour of transactions far sooner than an hour of
/// telemetry, so a partition can hold 14:00's transactions before 11:00's
/// telemetry), nor are the partitions a reader fetches. So a result is
/// released once every unit seen in every partition still being read has
/// reached its watermark plus `margin` (a partition nothing was read from
/// yet holds everything back).
class ResultOrder {
 public:
  struct Held {
    TimePoint watermark;  // the epoch for a record that does not decode (released first, set aside)
    bool decoded;
    std::int32_t partition;
    std::int64_t offset;
    std::string value;
  };
  /// The partitions that will be read.
  ResultOrder(const std::vector<std::int32_t>& partitions, Millis margin);
  /// A result read; `unit` names its aggregator unit (stream, input
  /// partition); decoded false: `unit` is ignored.
  void add(Held h, std::pair<int, std::int32_t> unit);
  /// Nothing more will be read from `partition`.
  void done(std::int32_t partition);
  /// The next result that may be fed (lowest watermark, then read order).
  std::optional<Held> next();
  std::size_t held() const { return held_.size(); }

 private:
  struct Entry {
    Held h;
    std::uint64_t seq;
  };
  struct LaterFirst {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.h.watermark != b.h.watermark ? a.h.watermark > b.h.watermark : a.seq > b.seq;
    }
  };
  void update_limit();

  Millis margin_;
  std::priority_queue<Entry, std::vector<Entry>, LaterFirst> held_;
  std::uint64_t seq_ = 0;
  /// Per partition still being read: the highest watermark of each unit.
  std::map<std::int32_t, std::map<std::pair<int, std::int32_t>, TimePoint>> reading_;
  TimePoint limit_{};
  bool stale_ = true;
};

struct BacktestOptions {
  std::vector<std::string> rule_files;  // empty: alerter.rules
  std::optional<TimePoint> from, to;
  bool json = false;
  /// ResultOrder's margin: how far behind the slowest unit's watermark a
  /// result of another unit may still come.
  Millis reorder{std::chrono::hours(1)};
};

/// Takes the backtest's own flags out of `args` (the rest are settings for
/// config::Source); an error names the flag.
Result<BacktestOptions> take_backtest_args(std::vector<std::string>& args);

/// Reads ioc.aggregates.v1 from its start to its end as it is now, feeds
/// the results in watermark order (reordered within `reorder` of the
/// slowest partition), and prints
/// the report to `out`. Returns the exit code.
int run_backtest(const Config& cfg, const BacktestOptions& options, std::ostream& out);

}  // namespace ioc::alerter
