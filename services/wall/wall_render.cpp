// WallState's sections as JSON (wall_state.hpp): what the page draws.
#include "wall_state.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <algorithm>
#include <map>

#include "ioc/codec/json.hpp"
#include "wall_labels.hpp"

namespace ioc::wall {

namespace json = boost::json;

namespace {

json::value ms_or_null(TimePoint t) {
  if (ms(t) == 0) return nullptr;
  return ms(t);
}

template <typename T>
json::value or_null(const std::optional<T>& v) {
  if (!v) return nullptr;
  return *v;
}

}  // namespace

// ------------------------------------------------------------- rendering

std::string WallState::district_name(std::string_view code) const {
  if (auto i = registry_.district_index(code)) return registry_.district(*i).name;
  return std::string(code);
}

std::string WallState::district_of(const AlertEvent& a) const {
  std::string_view d = label_of(a.group, "district");
  if (d.empty()) d = label_of(a.labels, "district");
  return std::string(d);
}

Sections WallState::render(TimePoint now) const {
  const Kpis k = compute(now);
  const Cards c = fold_alerts();
  return {render_districts(k, c, now), render_kpis(k), render_alerts(c, now), render_reports(), render_freshness(now)};
}

WallState::Cards WallState::fold_alerts() const {
  Cards c;
  c.firing.reserve(active_.size());
  for (const auto& [fp, a] : active_) {
    if (a.state == AlertEvent::State::kFiring) c.firing.push_back(&a);  // pending ones are not shown
  }
  std::sort(c.firing.begin(), c.firing.end(), [](const AlertEvent* x, const AlertEvent* y) {
    const int sx = severity_rank(severity_name(x->severity)), sy = severity_rank(severity_name(y->severity));
    if (sx != sy) return sx > sy;
    if (x->starts_at != y->starts_at) return x->starts_at < y->starts_at;
    return x->fingerprint < y->fingerprint;
  });
  c.folds = rules::fold(c.firing, options_.inhibitions);
  return c;
}

json::value WallState::render_districts(const Kpis& k, const Cards& cards, TimePoint now) const {
  const std::size_t n = registry_.districts().size();
  struct Row {
    int worst = -1;  // severity rank of the worst firing alert, -1: none
    std::size_t firing = 0;
    std::int64_t reports = 0;
    TransactionTotals tx;
    std::optional<double> water, rain;
    std::size_t reporting = 0, total = 0;
  };
  std::vector<Row> rows(n);
  auto row = [&](std::string_view code) -> Row* {
    auto i = registry_.district_index(code);
    return i ? &rows[*i] : nullptr;
  };
  // Pending alerts are the alerter's business until they fire: a district
  // is coloured by what fired only, and by incidents (cards): stations
  // silent under a stale telemetry feed are not each a district's fault.
  for (std::size_t i = 0; i < cards.firing.size(); ++i) {
    const AlertEvent& a = *cards.firing[i];
    Row* r = row(district_of(a));
    if (r == nullptr || cards.folds[i].card != nullptr) continue;
    ++r->firing;
    r->worst = std::max(r->worst, severity_rank(severity_name(a.severity)));
  }
  auto each = [&](const std::string& name, const std::optional<Window>& w, auto&& f) {
    const View* v = view(name);
    if (v == nullptr || !w) return;
    for (const auto& [key, g] : v->groups) {
      auto s = g.windows.find(w->start);
      if (s == g.windows.end()) continue;
      if (Row* r = row(g.label("district"))) f(*r, g, s->second);
    }
  };
  each(options_.views.reports, k.reports_window,
       [](Row& r, const Group&, const Stored& s) { r.reports += static_cast<std::int64_t>(s.value(value::kCount).value_or(0)); });
  each(options_.views.transactions, k.transactions_window,
       [](Row& r, const Group&, const Stored& s) { r.tx += s.transactions(); });
  each(options_.views.water_level, k.water_window, [](Row& r, const Group&, const Stored& s) {
    if (auto m = s.value(value::kMax); m && (!r.water || *m > *r.water)) r.water = m;
  });
  if (const View* v = view(options_.views.rainfall)) {
    const std::optional<Window> w = window_at(*v, now);
    each(options_.views.rainfall, w, [](Row& r, const Group&, const Stored& s) {
      if (auto m = s.value(value::kSum)) r.rain = r.rain.value_or(0) + *m;
    });
  }
  const TimePoint heard = now - options_.station_silence;
  const TimePoint known = now - options_.station_horizon;
  for (const auto& [id, s] : stations_) {
    Row* r = row(s.district);
    if (r == nullptr) continue;
    if (s.last_seen >= known) ++r->total;
    if (s.last_seen >= heard) ++r->reporting;
  }
  json::array out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const District& d = registry_.district(static_cast<Registry::Index>(i));
    const Row& r = rows[i];
    const Standing st = standing(r.tx, options_.targets);
    json::object o;
    o["code"] = d.code;
    o["name"] = d.name;
    o["status"] = r.worst == 3 ? "critical" : r.worst == 2 ? "warning" : r.worst >= 0 ? "info" : "ok";
    o["firing"] = static_cast<std::int64_t>(r.firing);
    o["reports"] = r.reports;
    o["online_rate"] = or_null(st.online_rate);
    // The KPI targets: a status beside the alert status, never one of its levels.
    o["targets"] = standing_json(st, options_.targets);
    o["water_level_m"] = or_null(r.water);
    o["rainfall_mm"] = or_null(r.rain);
    o["stations_reporting"] = static_cast<std::int64_t>(r.reporting);
    o["stations_total"] = static_cast<std::int64_t>(r.total);
    out.push_back(std::move(o));
  }
  return out;
}

json::value WallState::history(const std::string& series) const {
  json::array out;
  if (auto i = series_.find(series); i != series_.end()) {
    out.reserve(i->second.size());
    for (const Point& p : i->second) out.push_back(json::array{p.t, p.v});
  }
  return out;
}

json::value WallState::render_kpis(const Kpis& k) const {
  auto window = [](const std::optional<Window>& w) -> json::value {
    if (!w) return nullptr;
    return json::object{{"start", w->start}, {"end", w->end}};
  };
  json::object out;
  {
    json::array cats;
    for (std::size_t i = 0; i < k.reports_by_category.size(); ++i) {
      const Category& c = registry_.category(static_cast<Registry::Index>(i));
      cats.push_back(json::object{{"code", c.code},
                                  {"name", c.name},
                                  {"count", k.reports_by_category[i]},
                                  {"history", history("reports." + c.code)}});
    }
    out["reports"] = json::object{{"view", options_.views.reports},
                                  {"window", window(k.reports_window)},
                                  {"total", k.reports_total},
                                  {"by_category", std::move(cats)},
                                  {"history", history("reports_total")}};
  }
  out["online_rate"] = json::object{{"view", options_.views.transactions},
                                    {"window", window(k.transactions_window)},
                                    {"value", or_null(k.online_rate)},
                                    {"target", options_.targets.online},
                                    {"below_target", k.online_rate && *k.online_rate < options_.targets.online},
                                    {"online", k.tx.online},
                                    {"count", k.tx.count},
                                    {"history", history("online_rate")}};
  out["overdue_ratio"] = json::object{{"view", options_.views.transactions},
                                      {"window", window(k.transactions_window)},
                                      {"value", or_null(k.overdue_ratio)},
                                      {"target", options_.targets.overdue},
                                      {"overdue", k.tx.overdue},
                                      {"closed", k.tx.completed + k.tx.overdue},
                                      {"history", history("overdue_ratio")}};
  out["processing_p95"] = json::object{{"view", options_.views.processing},
                                       {"window", window(k.processing_window)},
                                       {"value_ms", or_null(k.p95_ms)},
                                       {"district", k.p95_district},
                                       {"district_name", k.p95_ms ? district_name(k.p95_district) : ""},
                                       {"history", history("processing_p95_ms")}};
  out["stations"] = json::object{{"view", options_.views.stations},
                                 {"reporting", static_cast<std::int64_t>(k.stations_reporting)},
                                 {"total", static_cast<std::int64_t>(k.stations_total)},
                                 {"silence_s", options_.station_silence.count() / 1000.0},
                                 {"horizon_s", options_.station_horizon.count() / 1000.0},
                                 {"history", history("stations_reporting")}};
  out["water_level"] = json::object{{"view", options_.views.water_level},
                                    {"window", window(k.water_window)},
                                    {"value_m", or_null(k.water_max)},
                                    {"district", k.water_district},
                                    {"district_name", k.water_max ? district_name(k.water_district) : ""},
                                    {"station", k.water_station},
                                    {"history", history("water_level_max")}};
  return out;
}

json::value WallState::render_alert(const AlertEvent& a, TimePoint /*now*/) const {
  json::object o;
  const std::string district = district_of(a);
  codec::add_alert_fields(a, o);
  o["severity"] = severity_name(a.severity);
  o["district"] = district;
  o["district_name"] = district.empty() ? "" : district_name(district);
  o["starts_at"] = ms_or_null(a.starts_at);
  o["ends_at"] = ms_or_null(a.ends_at);
  o["window_start"] = ms_or_null(a.window_start);
  o["window_end"] = ms_or_null(a.window_end);
  json::array evidence;
  for (std::size_t i = 0; i < a.sample_ids.size() && i < options_.evidence_per_alert; ++i) {
    const std::string& id = a.sample_ids[i];
    json::object e{{"id", id}};
    if (auto r = evidence_.find(id); r != evidence_.end()) {
      const Evidence& ev = r->second;
      e["district"] = ev.district;
      e["district_name"] = district_name(ev.district);
      e["category"] = ev.category;
      if (auto c = registry_.category_index(ev.category)) e["category_name"] = registry_.category(*c).name;
      e["description"] = ev.description;
      e["address"] = ev.address;
      e["received_at"] = ms(ev.received_at);
    }
    evidence.push_back(std::move(e));
  }
  o["evidence"] = std::move(evidence);
  o["evidence_total"] = static_cast<std::int64_t>(a.sample_ids.size());
  return o;
}

json::value WallState::render_alerts(const Cards& cards, TimePoint now) const {
  // Each card's folded alerts, briefly: enough to list and find them.
  std::map<const AlertEvent*, json::array> folded;
  for (std::size_t i = 0; i < cards.firing.size(); ++i) {
    const AlertEvent* card = cards.folds[i].card;
    if (card == nullptr) continue;
    const AlertEvent& a = *cards.firing[i];
    folded[card].push_back(json::object{{"fingerprint", a.fingerprint},
                                        {"id", a.id},
                                        {"rule", a.rule},
                                        {"group", codec::labels_json(a.group)},
                                        {"summary", a.summary},
                                        {"starts_at", ms_or_null(a.starts_at)},
                                        {"inhibited_by", cards.folds[i].inhibited_by->fingerprint}});
  }
  json::object counts{{"critical", 0}, {"warning", 0}, {"info", 0}};
  json::array list;
  for (std::size_t i = 0; i < cards.firing.size(); ++i) {
    if (cards.folds[i].card != nullptr) continue;
    const AlertEvent& a = *cards.firing[i];
    const std::string_view bucket = severity_name(a.severity);
    counts[bucket] = counts[bucket].as_int64() + 1;
    json::value v = render_alert(a, now);
    auto f = folded.find(&a);
    v.as_object()["folded_count"] = f == folded.end() ? 0 : static_cast<std::int64_t>(f->second.size());
    v.as_object()["folded"] = f == folded.end() ? json::array() : std::move(f->second);
    list.push_back(std::move(v));
  }
  json::array resolved;
  for (const AlertEvent& a : resolved_) {
    if (a.state == AlertEvent::State::kResolved) resolved.push_back(render_alert(a, now));
  }
  return json::object{{"active", std::move(list)}, {"resolved", std::move(resolved)}, {"counts", std::move(counts)}};
}

json::value WallState::render_reports() const {
  json::array out;
  for (const std::string& id : latest_) {
    const Evidence& e = evidence_.at(id);
    json::object o{{"id", e.id},
                   {"district", e.district},
                   {"district_name", district_name(e.district)},
                   {"category", e.category},
                   {"description", e.description},
                   {"address", e.address},
                   {"occurred_at", ms_or_null(e.occurred_at)},
                   {"received_at", ms_or_null(e.received_at)}};
    if (auto c = registry_.category_index(e.category)) o["category_name"] = registry_.category(*c).name;
    out.push_back(std::move(o));
  }
  return out;
}

json::value WallState::render_freshness(TimePoint now) const {
  json::array out;
  for (Feed f : kFeeds) {
    const FeedState& fs = feeds_[static_cast<std::size_t>(f)];
    out.push_back(json::object{
        {"feed", to_string(f)},
        {"last_arrival", fs.last_arrival ? json::value(ms(*fs.last_arrival)) : json::value(nullptr)},
        {"watermark", fs.watermark ? json::value(ms(*fs.watermark)) : json::value(nullptr)},
        {"stale", feed_stale(f, now)},
        {"stale_after_s", stale_after(f).count() / 1000.0}});
  }
  return out;
}

}  // namespace ioc::wall
