#pragma once
/// One card per incident: which active alerts another firing alert
/// inhibits (rule.hpp, Inhibition), as Alertmanager's inhibit_rules decide
/// it — many silent stations of a district under the district's
/// BtsStationsDown, everything telemetry under TelemetryFeedStale.
///
/// Pure functions over alert events; thread-safe.

#include <span>
#include <vector>

#include "ioc/core/model.hpp"
#include "ioc/rules/rule.hpp"

namespace ioc::rules {

/// Whether `target` is in the reach of `source` under `inhibition`,
/// whatever either alert's state: `source` is an alert of its source rule,
/// `target` another alert of one of its target rules, and both have the
/// same value for every `equal` label (the alert's labels, else its group
/// labels; missing reads as empty, as in Alertmanager). The alerter holds
/// a resolved source's resolution back while a target in its reach fires.
bool reaches(const Inhibition& inhibition, const AlertEvent& source, const AlertEvent& target);

/// Whether `source` inhibits `target` under `inhibition`: `source` fires
/// and `target` is in its reach (reaches()). `target`'s own state is not
/// looked at.
bool inhibits(const Inhibition& inhibition, const AlertEvent& source, const AlertEvent& target);

/// The first alert of `active` that inhibits `alert` under one of
/// `inhibitions`, or null.
const AlertEvent* inhibited_by(const AlertEvent& alert, std::span<const AlertEvent* const> active,
                               std::span<const Inhibition> inhibitions);

/// Where one alert of fold()'s input goes.
struct Folded {
  /// The alert that inhibits it (inhibited_by()); null: it is not inhibited.
  const AlertEvent* inhibited_by = nullptr;
  /// The card it is shown in: the end of its chain of inhibitors (a station
  /// silent under BtsStationsDown under TelemetryFeedStale goes to the
  /// latter); null: it is a card itself.
  const AlertEvent* card = nullptr;
};

/// For each of `alerts` (same order), its inhibitor and card among
/// `alerts`. A chain that runs in a circle (rules that inhibit each other;
/// load_rules() rejects them) ends nowhere: its alerts stay cards, so no
/// alert is ever hidden without a card to find it under.
std::vector<Folded> fold(std::span<const AlertEvent* const> alerts, std::span<const Inhibition> inhibitions);

}  // namespace ioc::rules
