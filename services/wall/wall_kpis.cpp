// WallState, KPIs: the numbers on the wall's tiles, from the windows that
// hold them now, and how fresh each feed is.
#include <algorithm>
#include <cmath>

#include "wall_labels.hpp"
#include "wall_state.hpp"

namespace ioc::wall {

const WallState::View* WallState::view(const std::string& name) const {
  auto i = views_.find(name);
  return i == views_.end() ? nullptr : &i->second;
}

std::optional<WallState::Window> WallState::window_at(const View& v, TimePoint now) const {
  const std::int64_t t = ms(now);
  std::optional<Window> covering;
  std::optional<Window> recent;
  for (const auto& [key, g] : v.groups) {
    for (const auto& [start, s] : g.windows) {
      const std::int64_t end = ms(s.end);
      if (start <= t && t < end) {
        if (!covering || start < covering->start) covering = Window{start, end};
      } else if (end <= t && end > t - (end - start)) {
        if (!recent || start > recent->start) recent = Window{start, end};
      }
    }
  }
  return covering ? covering : recent;
}

WallState::Kpis WallState::compute(TimePoint now) const {
  Kpis k;
  k.reports_by_category.assign(registry_.categories().size(), 0);
  // Calls f(group, stored) for every group's result of the window the view shows.
  auto each = [&](const std::string& name, std::optional<Window>& chosen, auto&& f) {
    const View* v = view(name);
    if (v == nullptr) return;
    chosen = window_at(*v, now);
    if (!chosen) return;
    for (const auto& [key, g] : v->groups) {
      if (auto w = g.windows.find(chosen->start); w != g.windows.end()) f(g, w->second);
    }
  };
  each(options_.views.reports, k.reports_window, [&](const Group& g, const Stored& s) {
    const auto n = static_cast<std::int64_t>(s.value(value::kCount).value_or(0));
    k.reports_total += n;
    if (auto c = registry_.category_index(g.label("category"))) k.reports_by_category[*c] += n;
  });
  each(options_.views.transactions, k.transactions_window, [&](const Group&, const Stored& s) { k.tx += s.transactions(); });
  const Standing province = standing(k.tx, options_.targets);
  k.online_rate = province.online_rate;
  k.overdue_ratio = province.overdue_ratio;
  each(options_.views.processing, k.processing_window, [&](const Group& g, const Stored& s) {
    const std::optional<double> p95 = s.value(value::kProcessingP95);
    const std::string_view district = g.label("district");
    // Sketches give equal values to different districts: the lower code
    // wins a tie, whatever order the groups come in.
    if (p95 && (!k.p95_ms || *p95 > *k.p95_ms || (*p95 == *k.p95_ms && district < k.p95_district))) {
      k.p95_ms = p95;
      k.p95_district = std::string(district);
    }
  });
  each(options_.views.water_level, k.water_window, [&](const Group& g, const Stored& s) {
    const std::optional<double> m = s.value(value::kMax);
    if (m && (!k.water_max || *m > *k.water_max)) {
      k.water_max = m;
      k.water_district = std::string(g.label("district"));
      k.water_station = std::string(g.label("source_id"));
    }
  });
  const TimePoint heard = now - options_.station_silence;
  const TimePoint known = now - options_.station_horizon;
  for (const auto& [id, s] : stations_) {
    if (s.last_seen >= known) ++k.stations_total;
    if (s.last_seen >= heard) ++k.stations_reporting;
  }
  return k;
}

std::optional<double> WallState::feed_age_seconds(Feed feed, TimePoint now) const {
  const FeedState& fs = feeds_[static_cast<std::size_t>(feed)];
  if (!fs.last_arrival) return std::nullopt;
  return std::max<double>(0, static_cast<double>((now - *fs.last_arrival).count()) / 1000.0);
}

bool WallState::feed_stale(Feed feed, TimePoint now) const {
  const FeedState& fs = feeds_[static_cast<std::size_t>(feed)];
  return !fs.last_arrival || now - *fs.last_arrival > stale_after(feed);
}
}  // namespace ioc::wall
