#pragma once
/// CAP 1.2 (OASIS Common Alerting Protocol) for one alert episode: the
/// message for its latest state — msgType Alert (it fired), Update (a later
/// state while firing), Cancel (resolved, or a pending alert that ended) —
/// referencing the episode's first message. <info> carries the category
/// (from the rule or its FIWARE category), event, urgency, severity,
/// certainty, headline, description, instruction (the rule's scenario) and
/// an <area> for the district (areaDesc from the registry, GSO geocode), or
/// for the province (with its bounding polygon) when the alert has no
/// district. Times are UTC written as -00:00, as CAP requires.
/// Pure; thread-safe. Validated against deploy/cap/CAP-v1.2.xsd in tests.

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

std::string render_cap(const AlertBook::Episode& episode, const CapContext& ctx);

/// The CAP 1.2 <category> of an alert whose rule names none, from its
/// FIWARE Smart Data Models Alert category and sub-category (e.g.
/// naturalDisaster/landslide: Geo); "Other" for what has no better match.
/// The rules take it as EvaluatorOptions::cap_category.
std::string cap_category_for(const std::string& category, const std::string& sub_category);

/// "2024-07-01T08:30:00-00:00": CAP's dateTime (seconds, numeric offset).
std::string cap_time(TimePoint t);
/// The CAP identifier of the event with revision `revision` of episode `id`.
std::string cap_identifier(const std::string& id, std::uint32_t revision);

}  // namespace ioc::alerter
