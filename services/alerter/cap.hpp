#pragma once
/// CAP 1.2 (OASIS Common Alerting Protocol) for alert episodes, as public
/// warning systems and alert hubs expect one incident to be told:
///
///   - a pending alert is the alerter's own business: CAP starts when the
///     alert fires, with msgType Alert (certainty Observed);
///   - every later message of the episode is an Update whose <references>
///     lists the episode's earlier messages ("sender,identifier,sent",
///     space-separated); an Update goes out only when something an operator
///     cares about changed (the severity, or the peak value moved past the
///     last message's by CapConfig::update_step of the threshold), or when
///     the latest message has used half of its validity (<expires>); its
///     text is the peak's, the value that keeps the alert firing;
///   - the end is a Cancel with references, whose headline and description
///     say the incident ended, with no instruction and responseType AllClear.
///
/// <scope> is the rule's (Public, or Restricted with a <restriction>, from
/// the event's cap_scope / cap_restriction annotations). <info> carries the
/// category, event, urgency, severity, certainty, expires, headline,
/// description, instruction (the rule's scenario) and an <area> for the
/// district (areaDesc from the registry, GSO geocode) or the province (its
/// bounding polygon). Times are UTC written as -00:00, as CAP requires.
/// Also the Atom 1.0 feed alert hubs poll: one entry per episode, its
/// latest message. Pure; thread-safe. Validated against
/// deploy/cap/CAP-v1.2.xsd in tests.

#include <optional>
#include <string>

#include "alert_book.hpp"
#include "config.hpp"
#include "ioc/core/registry.hpp"

namespace ioc::alerter {

struct CapContext {
  const CapConfig& cap;
  const Registry& registry;
  const Province& province;
  const std::string& external_url;
};

/// The CAP message recording `e` into its episode `ep` (already recorded
/// there) issues, if any: nullopt for pending and canceled-pending alerts,
/// for firing updates that change nothing material, and after a Cancel.
std::optional<CapMessage> next_cap_message(const AlertBook::Episode& ep, const AlertEvent& e, const CapConfig& cap);
/// The Update a firing episode needs at `now` because its latest message
/// has used half of its validity; nullopt otherwise.
std::optional<CapMessage> refresh_cap_message(const AlertBook::Episode& ep, TimePoint now, const CapConfig& cap);

/// Message `m` of episode `ep` as a CAP 1.2 document.
std::string render_cap(const AlertBook::Episode& ep, const CapMessage& m, const CapContext& ctx);

/// The Atom 1.0 feed of the latest CAP message of each episode in
/// `episodes` (those with one), newest first: entry id and link
/// (rel=alternate, type application/cap+xml) are the message's URL.
std::string render_cap_feed(const std::map<std::string, AlertBook::Episode, std::less<>>& episodes,
                            const CapContext& ctx);

/// "/api/v1/alerts/{id}/cap/{n}": where message n of an episode is served.
std::string cap_message_path(const std::string& id, std::uint32_t n);

/// The CAP 1.2 <category> of an alert whose rule names none, from its
/// FIWARE Smart Data Models Alert category and sub-category (e.g.
/// naturalDisaster/landslide: Geo); "Other" for what has no better match.
/// The rules take it as EvaluatorOptions::cap_category.
std::string cap_category_for(const std::string& category, const std::string& sub_category);

/// "2024-07-01T08:30:00-00:00": CAP's dateTime (seconds, numeric offset).
std::string cap_time(TimePoint t);
/// The CAP identifier of message `n` of episode `id`.
std::string cap_identifier(const std::string& id, std::uint32_t n);

}  // namespace ioc::alerter
