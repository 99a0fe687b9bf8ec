#pragma once
/// The alerter's HTTP API, served from an immutable AlertView that the poll
/// thread replaces after every change:
///   GET /api/v1/alerts            active (pending and firing) alerts as JSON, one card
///                                 per incident: an alert another one inhibits (the
///                                 rules' `inhibits:`) is folded into that one's card
///                                 (`folded`, `folded_count`); ?fold=false lists every
///                                 alert, each with `inhibited_by` and `folded_into`.
///                                 ?state=firing|pending, ?severity=..., ?rule=... select
///                                 cards (with fold=false: alerts)
///   GET /api/v1/alerts/{id}       one episode (also recently resolved) as JSON
///   GET /api/v1/alerts/{id}.cap   its latest CAP 1.2 message (application/cap+xml)
///   GET /api/v1/alerts/{id}/cap/{n}  its CAP message n (1: the Alert)
///   GET /api/v1/cap.atom          Atom 1.0 feed of the latest CAP message of
///                                 each active or recently ended episode
///   GET /api/v1/episodes          episodes that fired, from the history;
///                                 ?from=&to= (RFC 3339 or YYYY-MM-DD, UTC
///                                 days, `to` inclusive), ?rule=, ?district=
/// Thread-safe: handlers only read a shared_ptr<const AlertView> and the
/// (thread-safe) EpisodeHistory.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "alert_book.hpp"
#include "cap.hpp"
#include "episode_history.hpp"
#include "kpi_ledger.hpp"
#include "ioc/http/server.hpp"
#include "ioc/rules/rule.hpp"

namespace ioc::alerter {

struct AlertView {
  std::vector<AlertEvent> active;
  std::map<std::string, AlertBook::Episode, std::less<>> episodes;
  std::vector<rules::Inhibition> inhibitions;  // of the rules in force
};

/// Holds the current view and the episode history. publish() from the
/// owner thread, get() and history() anywhere.
class AlertViewBox {
 public:
  EpisodeHistory& history() { return history_; }
  const EpisodeHistory& history() const { return history_; }
  KpiLedger& ledger() { return ledger_; }
  const KpiLedger& ledger() const { return ledger_; }

  void publish(std::shared_ptr<const AlertView> v) {
    std::lock_guard lock(mu_);
    view_ = std::move(v);
  }
  std::shared_ptr<const AlertView> get() const {
    std::lock_guard lock(mu_);
    return view_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const AlertView> view_ = std::make_shared<AlertView>();
  EpisodeHistory history_;
  KpiLedger ledger_;
};

boost::json::object alert_json(const AlertEvent& e);
/// 400 {"error": "bad_request", "message", "errors": [{"field", "reason"}]}.
http::Response bad_request(std::string_view field, std::string_view reason);
boost::json::object episode_json(const EpisodeRecord& r);

/// A bound of /api/v1/episodes: an RFC 3339 date-time, or a date
/// (YYYY-MM-DD, a UTC day: its start, or with `end_of_day` the next day's
/// start). The error says why, for a 400 naming the field.
[[nodiscard]] Result<TimePoint> parse_time_bound(std::string_view text, bool end_of_day);

/// Adds the routes above. `box` and everything `ctx` refers to must outlive the router.
void add_routes(http::Router& router, const AlertViewBox& box, CapContext ctx);

}  // namespace ioc::alerter
