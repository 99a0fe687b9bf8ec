#include "wall_state.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "ioc/codec/json.hpp"
#include "ioc/core/text.hpp"
#include "wall_labels.hpp"

namespace ioc::wall {

namespace json = boost::json;

namespace {

std::string group_key(const std::vector<Label>& group) {
  std::string key;
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (i != 0) key.push_back('/');
    key += group[i].value;
  }
  return key;
}

// A named value of a result; "count" falls back to the result's own count.
std::optional<double> value_of(const std::vector<WindowResult::Value>& values, std::int64_t count,
                               std::string_view name) {
  for (const WindowResult::Value& v : values) {
    if (v.name == name) return v.value;
  }
  if (name == value::kCount) return static_cast<double>(count);
  return std::nullopt;
}

}  // namespace

const char* to_string(Feed feed) {
  switch (feed) {
    case Feed::kReports: return "reports";
    case Feed::kTransactions: return "transactions";
    case Feed::kTelemetry: return "telemetry";
  }
  return "unknown";
}

std::vector<views::Need> needs(const ViewNames& v) {
  using namespace value;
  auto need = [](const char* setting, const std::string& view, std::vector<std::string_view> values,
                 std::vector<std::string> labels) {
    return views::Need{std::string("wall.views.") + setting, view, {values.begin(), values.end()}, std::move(labels)};
  };
  return {
      need("reports", v.reports, {}, {"district", "category"}),
      need("transactions", v.transactions, {kOnline, kCompleted, kOverdue}, {"district"}),
      need("processing", v.processing, {kProcessingP95}, {"district"}),
      need("stations", v.stations, {}, {"district", "source_id", "kind"}),
      need("water_level", v.water_level, {kMax}, {"district", "source_id"}),
      need("rainfall", v.rainfall, {kSum}, {"district"}),
  };
}

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kApplied: return "applied";
    case Outcome::kStale: return "stale";
    case Outcome::kIgnored: return "ignored";
    case Outcome::kInvalid: return "invalid";
    case Outcome::kMalformed: return "malformed";
  }
  return "unknown";
}

std::optional<double> WallState::Stored::value(std::string_view name) const { return value_of(values, count, name); }

TransactionTotals WallState::Stored::transactions() const {
  return {value(value::kCount).value_or(0), value(value::kOnline).value_or(0), value(value::kCompleted).value_or(0),
          value(value::kOverdue).value_or(0)};
}

std::string_view WallState::Group::label(std::string_view name) const { return label_of(labels, name); }

WallState::WallState(WallOptions options, const Registry& registry)
    : options_(std::move(options)), registry_(registry) {}

// ------------------------------------------------------------- inputs

std::optional<Feed> WallState::feed_of(std::string_view view) const {
  const ViewNames& v = options_.views;
  if (view == v.reports) return Feed::kReports;
  if (view == v.transactions || view == v.processing) return Feed::kTransactions;
  if (view == v.stations || view == v.water_level || view == v.rainfall) return Feed::kTelemetry;
  return std::nullopt;
}

std::chrono::milliseconds WallState::stale_after(Feed feed) const {
  switch (feed) {
    case Feed::kReports: return options_.stale_reports;
    case Feed::kTransactions: return options_.stale_transactions;
    case Feed::kTelemetry: return options_.stale_telemetry;
  }
  return options_.stale_reports;
}

Outcome WallState::apply(const WindowResult& r, TimePoint arrival) {
  if (r.view.empty() || ms(r.window_end) <= ms(r.window_start)) return Outcome::kInvalid;
  const std::optional<Feed> feed = feed_of(r.view);
  if (!feed) return Outcome::kIgnored;
  FeedState& fs = feeds_[static_cast<std::size_t>(*feed)];
  auto note_arrival = [&] {
    if (!fs.last_arrival || arrival > *fs.last_arrival) fs.last_arrival = arrival;
    if (ms(r.watermark) != 0 && (!fs.watermark || r.watermark > *fs.watermark)) fs.watermark = r.watermark;
  };
  if (r.view == options_.views.stations) {
    const std::string_view station = label_of(r.group, "source_id");
    if (station.empty()) return Outcome::kInvalid;
    note_arrival();
    if (label_of(r.group, "kind") == options_.station_kind) apply_station(r, arrival);
    return Outcome::kApplied;
  }
  View& v = views_[r.view];
  const std::string key = group_key(r.group);
  auto [it, inserted] = v.groups.try_emplace(key);
  Group& g = it->second;
  if (inserted) {
    g.labels = r.group;
    g.updated = arrival;
    if (v.groups.size() > options_.max_groups_per_view) evict_group(v);
  }
  const std::int64_t start = ms(r.window_start);
  auto w = g.windows.find(start);
  if (w != g.windows.end() && w->second.revision >= r.revision) return Outcome::kStale;
  Stored& s = g.windows[start];
  s.end = r.window_end;
  s.revision = r.revision;
  s.final = r.final;
  s.count = r.count;
  s.values = r.values;
  if (arrival > g.updated) g.updated = arrival;
  while (g.windows.size() > options_.max_windows_per_group) g.windows.erase(g.windows.begin());
  note_arrival();
  return Outcome::kApplied;
}

void WallState::apply_station(const WindowResult& r, TimePoint arrival) {
  const std::string id(label_of(r.group, "source_id"));
  Station& s = stations_[id];
  if (s.district.empty()) s.district = std::string(label_of(r.group, "district"));
  const std::int64_t start = ms(r.window_start);
  const auto count = static_cast<std::int64_t>(value_of(r.values, r.count, value::kCount).value_or(0));
  // When the view has last_seen (the latest event time, epoch seconds),
  // that is when the station was heard. Otherwise a result with more
  // heartbeats than the one before it says it was heard when the result
  // was written; a result without new ones (e.g. the window's final) says
  // nothing new.
  std::optional<TimePoint> heard;
  for (const WindowResult::Value& v : r.values) {
    if (v.name == value::kLastSeen && std::isfinite(v.value)) heard = from_epoch_ms(static_cast<std::int64_t>(v.value * 1000.0));
  }
  if (start > s.window) {
    if (!heard && count > 0) heard = arrival;
    s.window = start;
    s.count = count;
  } else if (start == s.window && count > s.count) {
    if (!heard) heard = arrival;
    s.count = count;
  }
  if (heard && *heard > s.last_seen) s.last_seen = *heard;
  if (stations_.size() > options_.max_stations) {
    // Evict the station heard longest ago (rare: only past the bound).
    auto oldest = stations_.begin();
    for (auto i = stations_.begin(); i != stations_.end(); ++i) {
      if (i->second.last_seen < oldest->second.last_seen) oldest = i;
    }
    stations_.erase(oldest);
  }
}

void WallState::evict_group(View& view) {
  auto oldest = view.groups.end();
  for (auto i = view.groups.begin(); i != view.groups.end(); ++i) {
    if (i->second.windows.empty()) continue;  // the one being inserted
    if (oldest == view.groups.end() || i->second.updated < oldest->second.updated) oldest = i;
  }
  if (oldest != view.groups.end()) view.groups.erase(oldest);
}

Outcome WallState::apply(const AlertEvent& a, TimePoint /*arrival*/) {
  if (a.fingerprint.empty() || a.state == AlertEvent::State::kUnspecified) return Outcome::kInvalid;
  const AlertEvent* held = nullptr;
  if (auto i = active_.find(a.fingerprint); i != active_.end()) held = &i->second;
  for (const AlertEvent& r : resolved_) {
    if (r.fingerprint != a.fingerprint) continue;
    if (held == nullptr || std::tie(r.starts_at, r.revision) > std::tie(held->starts_at, held->revision)) held = &r;
    break;  // newest first: the first match is the latest resolved episode
  }
  if (held != nullptr) {
    if (std::tie(a.starts_at, a.revision) < std::tie(held->starts_at, held->revision)) return Outcome::kStale;
    if (a == *held) return Outcome::kStale;
  }
  std::erase_if(resolved_, [&](const AlertEvent& r) { return r.fingerprint == a.fingerprint; });
  if (a.state == AlertEvent::State::kResolved || a.state == AlertEvent::State::kInactive) {
    // Ended: resolved, or pending and canceled before it fired (kept, but
    // not shown, so that a replayed older event stays stale).
    active_.erase(a.fingerprint);
    resolved_.push_front(a);
    while (resolved_.size() > options_.max_resolved) resolved_.pop_back();
    return Outcome::kApplied;
  }
  active_[a.fingerprint] = a;
  if (active_.size() > options_.max_alerts) {
    // Past the bound the least important goes: lowest severity, pending
    // before firing, the most recent first.
    auto worst = active_.begin();
    auto rank = [](const AlertEvent& e) {
      return std::make_tuple(severity_rank(e.severity), e.state == AlertEvent::State::kFiring ? 1 : 0,
                             -ms(e.starts_at));
    };
    for (auto i = active_.begin(); i != active_.end(); ++i) {
      if (rank(i->second) < rank(worst->second)) worst = i;
    }
    active_.erase(worst);
  }
  return Outcome::kApplied;
}

Outcome WallState::apply(const Report& r, TimePoint arrival) {
  if (r.id.empty()) return Outcome::kInvalid;
  if (evidence_.contains(r.id)) return Outcome::kStale;
  Evidence e;
  e.id = r.id;
  e.district = r.district;
  e.category = r.category;
  e.description = echo(r.description, 280);
  e.address = echo(r.address, 120);
  e.occurred_at = r.occurred_at;
  e.received_at = ms(r.received_at) != 0 ? r.received_at : arrival;
  const TimePoint received = e.received_at;
  evidence_.emplace(r.id, std::move(e));
  evidence_order_.push_back(r.id);
  while (evidence_order_.size() > options_.evidence_reports) {
    const std::string old = std::move(evidence_order_.front());
    evidence_order_.pop_front();
    evidence_.erase(old);
    std::erase(latest_, old);
  }
  auto pos = std::find_if(latest_.begin(), latest_.end(),
                          [&](const std::string& id) { return evidence_.at(id).received_at < received; });
  latest_.insert(pos, r.id);
  while (latest_.size() > options_.latest_reports) latest_.pop_back();
  return Outcome::kApplied;
}

// ------------------------------------------------------------- time

void WallState::advance(TimePoint now, bool sample) {
  const TimePoint window_horizon = now - options_.keep_windows;
  for (auto& [name, v] : views_) {
    for (auto g = v.groups.begin(); g != v.groups.end();) {
      std::erase_if(g->second.windows, [&](const auto& w) { return w.second.end < window_horizon; });
      g = g->second.windows.empty() ? v.groups.erase(g) : std::next(g);
    }
  }
  const TimePoint station_horizon = now - options_.station_horizon;
  std::erase_if(stations_, [&](const auto& s) { return s.second.last_seen < station_horizon; });
  const TimePoint resolved_horizon = now - options_.resolved_visible;
  std::erase_if(resolved_, [&](const AlertEvent& a) {
    const TimePoint ended = ms(a.ends_at) != 0 ? a.ends_at : ms(a.sent_at) != 0 ? a.sent_at : a.starts_at;
    return ended < resolved_horizon;
  });
  if (!sample) return;
  if (next_sample_ && now < *next_sample_) return;
  const std::int64_t interval = std::max<std::int64_t>(1, options_.sparkline_interval.count());
  const std::int64_t t = ms(now) / interval * interval;
  next_sample_ = from_epoch_ms(t + interval);
  const Kpis k = compute(now);
  push_point("reports_total", t, static_cast<double>(k.reports_total));
  for (std::size_t i = 0; i < k.reports_by_category.size(); ++i) {
    push_point("reports." + registry_.category(static_cast<Registry::Index>(i)).code, t,
               static_cast<double>(k.reports_by_category[i]));
  }
  push_point("online_rate", t, k.online_rate);
  push_point("overdue_ratio", t, k.overdue_ratio);
  push_point("processing_p95_ms", t, k.p95_ms);
  push_point("stations_reporting", t, static_cast<double>(k.stations_reporting));
  push_point("water_level_max", t, k.water_max);
}

void WallState::push_point(const std::string& series, std::int64_t t, std::optional<double> v) {
  if (!v) return;
  std::deque<Point>& s = series_[series];
  s.push_back({t, *v});
  while (s.size() > options_.sparkline_points) s.pop_front();
}

// ------------------------------------------------------------- metrics

Sizes WallState::sizes() const {
  Sizes s;
  for (const auto& [name, v] : views_) {
    s.groups += v.groups.size();
    for (const auto& [key, g] : v.groups) s.windows += g.windows.size();
  }
  s.stations = stations_.size();
  s.active_alerts = active_.size();
  s.resolved_alerts = resolved_.size();
  s.reports = evidence_.size();
  for (const auto& [name, points] : series_) s.sparkline_points += points.size();
  return s;
}

std::map<std::string, std::size_t> WallState::firing_by_severity() const {
  std::map<std::string, std::size_t> out{{"critical", 0}, {"warning", 0}, {"info", 0}};
  for (const auto& [fp, a] : active_) {
    if (a.state == AlertEvent::State::kFiring) ++out[std::string(severity_name(a.severity))];
  }
  return out;
}

}  // namespace ioc::wall
