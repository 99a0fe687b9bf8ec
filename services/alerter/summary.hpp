#pragma once
/// The leadership summary of one local day: every district's KPIs against
/// the targets (from the KpiLedger) and the day's alert episodes (from the
/// EpisodeHistory) — a target missed is a KPI, an incident is an alert.
///   GET /api/v1/summary?date=YYYY-MM-DD       as JSON
///   GET /api/v1/summary.html?date=YYYY-MM-DD  as a printable page (also
///   GET /summary?date=YYYY-MM-DD)             plain HTML and print CSS, no scripts
/// A day still running, or whose final result has not come, is the day so
/// far: `complete: false`.
///
/// Pure functions plus the routes; thread-safe (the ledger and the history
/// are).

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "episode_history.hpp"
#include "ioc/core/kpi.hpp"
#include "ioc/core/registry.hpp"
#include "ioc/http/server.hpp"
#include "kpi_ledger.hpp"

namespace ioc::alerter {

/// What the summary needs besides the ledger and the history. `registry`
/// must outlive the routes.
struct SummaryContext {
  KpiTargets targets;
  std::string utc_offset = "+07:00";  // as configured
  Millis offset{7LL * 3'600'000};      // the same, as a duration
  const Registry* registry = nullptr;
  std::string province;  // its name, for the page's title
};

/// One district's (or the province's) day.
struct SummaryRow {
  std::string district;  // code; "" for the province
  std::string name;
  TransactionTotals totals;
  bool reported = false;  // the ledger has the day
  bool complete = false;  // its final result came
};

struct Summary {
  std::string date;  // YYYY-MM-DD, local
  TimePoint from{};  // local midnight, UTC
  TimePoint to{};    // the next one
  std::vector<SummaryRow> districts;  // the registry's order, then others the ledger has
  SummaryRow province;                // their sums
  std::vector<EpisodeRecord> episodes;  // firing at some time that day
};

/// The local midnight starting `date` (YYYY-MM-DD); the error says why not.
[[nodiscard]] Result<TimePoint> parse_summary_date(std::string_view date, const SummaryContext& ctx);

Summary build_summary(std::string date, TimePoint from, const KpiLedger& ledger, const EpisodeHistory& history,
                      const SummaryContext& ctx);

boost::json::object summary_json(const Summary& s, const SummaryContext& ctx);
std::string summary_html(const Summary& s, const SummaryContext& ctx);

/// Adds the routes above. `ledger`, `history` and ctx.registry must outlive the router.
void add_summary_routes(http::Router& router, const KpiLedger& ledger, const EpisodeHistory& history,
                        SummaryContext ctx);

}  // namespace ioc::alerter
