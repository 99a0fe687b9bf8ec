#pragma once
/// Domain records as JSON for the services' HTTP APIs (the alerter's
/// /api/v1/alerts, the wall's state): the parts every API renders the same
/// way. Times, severities and links differ per API and stay with it. Pure
/// functions, thread-safe.

#include <boost/json/object.hpp>
#include <vector>

#include "ioc/core/model.hpp"

namespace ioc::codec {

/// {"name": "value", ...}, in the labels' order.
boost::json::object labels_json(const std::vector<Label>& labels);

/// Adds an alert's identity, condition and texts to `o`: fingerprint, id,
/// rule, state, view, group, value, threshold, comparator, summary,
/// description, scenario, category, sub_category.
void add_alert_fields(const AlertEvent& e, boost::json::object& o);

}  // namespace ioc::codec
