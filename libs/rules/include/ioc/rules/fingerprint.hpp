#pragma once
/// Fingerprint: the stable identity of one alert — its rule and the values
/// of its group labels — as 16 hex digits of FNV-1a 64. The same on every
/// host and across restarts (never std::hash), so it can key ioc.alerts.v1
/// and Alertmanager can deduplicate re-sends. Pure; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ioc/core/model.hpp"

namespace ioc::rules {

/// `labels` in the rule's group_by order.
std::string fingerprint(std::string_view rule, const std::vector<Label>& labels);

/// One firing episode of an alert: "<fingerprint>-<starts_at ms>".
std::string episode_id(std::string_view fingerprint, TimePoint starts_at);

}  // namespace ioc::rules
