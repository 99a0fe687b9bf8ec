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
///   GET /api/v1/alerts/{id}.cap   the same as CAP 1.2 XML (application/cap+xml)
/// Thread-safe: handlers only read a shared_ptr<const AlertView>.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "alert_book.hpp"
#include "cap.hpp"
#include "ioc/http/server.hpp"
#include "ioc/rules/rule.hpp"

namespace ioc::alerter {

struct AlertView {
  std::vector<AlertEvent> active;
  std::map<std::string, AlertBook::Episode, std::less<>> episodes;
  std::vector<rules::Inhibition> inhibitions;  // of the rules in force
};

/// Holds the current view. publish() from the owner thread, get() anywhere.
class AlertViewBox {
 public:
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
};

boost::json::object alert_json(const AlertEvent& e);

/// Adds the routes above. `box` and everything `ctx` refers to must outlive the router.
void add_routes(http::Router& router, const AlertViewBox& box, CapContext ctx);

}  // namespace ioc::alerter
