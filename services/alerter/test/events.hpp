#pragma once
// AlertEvents for the alerter's unit tests.

#include "ioc/core/model.hpp"

namespace ioc::alerter::test {

constexpr std::int64_t kT0 = 1'719'822'600'000;  // 2024-07-01T08:30:00Z

inline TimePoint at(double s) { return from_epoch_ms(kT0 + static_cast<std::int64_t>(s * 1000)); }

inline AlertEvent event(const std::string& fp, AlertEvent::State state, double sent, std::uint32_t revision,
                        double started = 0) {
  AlertEvent e;
  e.fingerprint = fp;
  e.id = fp + "-" + std::to_string(kT0 + static_cast<std::int64_t>(started * 1000));
  e.rule = "FloodReportSurge";
  e.state = state;
  e.severity = "critical";
  e.view = "reports_15m";
  e.group = {{"district", "380"}, {"category", "flood"}};
  e.labels = {{"alertname", "FloodReportSurge"}, {"severity", "critical"}, {"district", "380"}, {"category", "flood"}};
  e.annotations = {{"summary", "23 flood reports in Thành phố Thanh Hóa"}, {"cap_category", "Met"},
                   {"event", "Citizen report surge"}};
  e.summary = "23 flood reports in Thành phố Thanh Hóa";
  e.description = "Citizens sent 23 reports <flood> & more";
  e.scenario = "Call the steering committee.";
  e.value = 23;
  e.threshold = 20;
  e.comparator = ">=";
  e.category = "naturalDisaster";
  e.sub_category = "flood";
  e.sample_ids = {"r-1", "r-2"};
  e.window_start = at(started - 60);
  e.window_end = at(started + 840);
  e.starts_at = at(started);
  e.sent_at = at(sent);
  if (state == AlertEvent::State::kResolved || state == AlertEvent::State::kInactive) e.ends_at = at(sent);
  e.revision = revision;
  return e;
}

}  // namespace ioc::alerter::test
