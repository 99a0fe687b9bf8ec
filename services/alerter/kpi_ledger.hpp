#pragma once
/// KpiLedger: each district's transactions of each local calendar day, for
/// the leadership summary (`GET /api/v1/summary?date=`). A day is the
/// result of the summary view (`alerter.summary.view`, a 24 h window per
/// district) whose window starts at that day's local midnight
/// (`alerter.summary.utc_offset`); of its revisions the latest is kept, and
/// the day is complete once its final result came. Other windows of the
/// view (the hopping ones between midnights), other views and results
/// without a `district` label are not the ledger's.
///
/// Bounded by a retention (days whose window ended longer ago are dropped).
/// Survives restarts as the file `kpi.ledger` in the alerter's state
/// folder, written like the episode history whenever it changed.
///
/// Thread-safe (one mutex): the alerter's poll thread adds, anyone reads.
/// No I/O; encode()/restore() give and take the file's bytes.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ioc/core/clock.hpp"
#include "ioc/core/kpi.hpp"
#include "ioc/core/model.hpp"
#include "ioc/core/result.hpp"

namespace ioc::alerter {

/// One district's day.
struct KpiDay {
  std::string date;      // local date, YYYY-MM-DD
  std::string district;  // the result's `district` label
  TimePoint window_start{};  // the day's local midnight, in UTC
  std::uint64_t revision = 0;
  bool complete = false;  // the window's final result came
  TransactionTotals totals;
  friend bool operator==(const KpiDay&, const KpiDay&) = default;
};

class KpiLedger {
 public:
  struct Options {
    std::string view = "transactions_24h";
    /// Local time minus UTC (+07:00: 7 h).
    Millis utc_offset{7LL * 3'600'000};
    Millis retention{30LL * 86'400'000};
  };
  KpiLedger() : KpiLedger(Options{}) {}
  explicit KpiLedger(Options options) : options_(std::move(options)) {}

  void set_options(Options options);

  /// Takes `r` when it is a day of the ledger's view and not older than the
  /// revision known; true when taken.
  bool add(const WindowResult& r);

  /// The districts' entries of local date `date` (YYYY-MM-DD), by district.
  std::vector<KpiDay> day(std::string_view date) const;
  std::size_t size() const;

  /// Drops days whose window ended more than the retention before `now`.
  void prune(TimePoint now);

  /// True once since the last call when something changed (time to save).
  bool take_changed();
  std::string encode() const;
  /// Replaces the content with what encode() gave; an error for damaged bytes.
  [[nodiscard]] Status restore(std::string_view bytes);

 private:
  mutable std::mutex mu_;
  Options options_;
  std::map<std::pair<std::string, std::string>, KpiDay, std::less<>> days_;  // by (date, district)
  bool changed_ = false;
};

/// The local date (YYYY-MM-DD) of `t` at `utc_offset`.
std::string local_date(TimePoint t, Millis utc_offset);

}  // namespace ioc::alerter
