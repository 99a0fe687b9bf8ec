#include "publisher.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace ioc::wall {

namespace json = boost::json;

Publisher::Publisher(std::string title, SharedState& shared, SseHub& hub, const Clock& clock, Metrics& metrics,
                     std::function<ServiceStatus()> status)
    : title_(std::move(title)), shared_(shared), hub_(hub), clock_(clock), metrics_(metrics), status_(std::move(status)) {}

std::size_t Publisher::tick() {
  const TimePoint now = clock_.now();
  const ServiceStatus st = status_();
  std::optional<Sections> sections;
  Sizes sizes;
  std::map<std::string, std::size_t> firing;
  std::optional<double> ages[3];
  bool stale[3] = {};
  {
    std::lock_guard lock(shared_.mu);
    WallState& s = shared_.state;
    // Sparklines sample live values only: not the half-read state of a restore.
    s.advance(now, st.restored);
    // Until restored the page shows that it is restoring, not partial numbers.
    if (st.restored) sections = s.render(now);
    sizes = s.sizes();
    firing = s.firing_by_severity();
    for (Feed f : kFeeds) {
      ages[static_cast<std::size_t>(f)] = s.feed_age_seconds(f, now);
      stale[static_cast<std::size_t>(f)] = s.feed_stale(f, now);
    }
  }
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("service", json::serialize(json::object{{"title", title_},
                                                           {"restored", st.restored},
                                                           {"broker_connected", st.broker_connected},
                                                           {"online_target", shared_.state.options().targets.online}}));
  if (sections) {
    out.emplace_back("districts", json::serialize(sections->districts));
    out.emplace_back("kpis", json::serialize(sections->kpis));
    out.emplace_back("alerts", json::serialize(sections->alerts));
    out.emplace_back("reports", json::serialize(sections->reports));
    out.emplace_back("freshness", json::serialize(sections->freshness));
  }
  const SseHub::Published p = hub_.publish(out, to_epoch_ms(now));
  if (sections) showing_restored_.store(true, std::memory_order_release);
  metrics_.sse_events.Increment(static_cast<double>(p.events));
  metrics_.sse_clients.Set(static_cast<double>(hub_.clients()));
  for (const auto& [severity, n] : firing) metrics_.active_alerts.Add({{"severity", severity}}).Set(static_cast<double>(n));
  for (Feed f : kFeeds) {
    const auto i = static_cast<std::size_t>(f);
    if (ages[i]) metrics_.feed_age.Add({{"feed", to_string(f)}}).Set(*ages[i]);
    metrics_.feed_stale.Add({{"feed", to_string(f)}}).Set(stale[i] ? 1 : 0);
  }
  const std::pair<const char*, std::size_t> entries[] = {
      {"windows", sizes.windows},         {"groups", sizes.groups},
      {"stations", sizes.stations},       {"alerts", sizes.active_alerts},
      {"resolved_alerts", sizes.resolved_alerts}, {"reports", sizes.reports},
      {"sparkline_points", sizes.sparkline_points}};
  for (const auto& [kind, n] : entries) metrics_.state_entries.Add({{"kind", kind}}).Set(static_cast<double>(n));
  return p.events;
}

}  // namespace ioc::wall
