#include "cap.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ioc/core/text.hpp"
#include "ioc/core/time_format.hpp"
#include "ioc/rules/evaluator.hpp"

namespace ioc::alerter {

namespace {

void element(std::string& out, int indent, const char* name, std::string_view text) {
  out.append(static_cast<std::size_t>(indent), ' ');
  out += '<';
  out += name;
  out += '>';
  append_markup_escaped(out, text);
  out += "</";
  out += name;
  out += ">\n";
}

const std::string* find(const std::vector<Label>& ls, std::string_view name) {
  for (const Label& l : ls) {
    if (l.name == name) return &l.value;
  }
  return nullptr;
}

std::string severity(const std::string& s) {
  if (s == "critical") return "Severe";
  if (s == "warning") return "Moderate";
  if (s == "info") return "Minor";
  return "Unknown";
}

std::string area_name(const AlertEvent& e, const CapContext& ctx) {
  if (const std::string* district = find(e.group, "district")) {
    const auto i = ctx.registry.district_index(*district);
    return i ? ctx.registry.district(*i).name : "District " + *district;
  }
  return ctx.province.name.empty() ? std::string("Province") : ctx.province.name;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::string cap_category_for(const std::string& category, const std::string& sub_category) {
  if (category == "naturalDisaster") {
    if (sub_category == "landslide" || sub_category == "earthquake") return "Geo";
    if (sub_category == "forestFire") return "Fire";
    return "Met";
  }
  if (category == "weather") return "Met";
  if (category == "traffic") return "Transport";
  if (category == "environment") return "Env";
  if (category == "health") return "Health";
  if (category == "security") return sub_category == "buildingFire" ? "Fire" : "Security";
  if (category == "infrastructure") return "Infra";
  return "Other";
}

std::string cap_time(TimePoint t) {
  std::string s = format_rfc3339(t);  // 2024-07-01T08:30:00.250Z
  return s.substr(0, 19) + "-00:00";
}

std::string cap_identifier(const std::string& id, std::uint32_t n) { return "ioc-" + id + "-" + std::to_string(n); }

std::string cap_message_path(const std::string& id, std::uint32_t n) {
  return "/api/v1/alerts/" + id + "/cap/" + std::to_string(n);
}

std::optional<CapMessage> next_cap_message(const AlertBook::Episode& ep, const AlertEvent& e, const CapConfig& cap) {
  const CapMessage* last = ep.cap.empty() ? nullptr : &ep.cap.back();
  if (last != nullptr && last->type == CapMsgType::kCancel) return std::nullopt;
  const std::uint32_t n = last == nullptr ? 1 : last->n + 1;
  switch (e.state) {
    case AlertEvent::State::kFiring: {
      if (last == nullptr) return CapMessage{n, CapMsgType::kAlert, e.sent_at, e};
      const AlertEvent& peak = ep.peak ? *ep.peak : e;
      const double scale = e.threshold != 0 ? std::fabs(e.threshold) : 1.0;
      const bool moved = further(peak, last->event) && std::fabs(peak.value - last->event.value) >= cap.update_step * scale;
      if (e.severity == last->event.severity && !moved) return std::nullopt;
      AlertEvent told = peak;
      told.severity = e.severity;
      return CapMessage{n, CapMsgType::kUpdate, e.sent_at, std::move(told)};
    }
    case AlertEvent::State::kResolved:
      // Only an episode that reached CAP ends there.
      if (last == nullptr) return std::nullopt;
      return CapMessage{n, CapMsgType::kCancel, e.sent_at, e};
    case AlertEvent::State::kPending:
    case AlertEvent::State::kInactive:
    case AlertEvent::State::kUnspecified:
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<CapMessage> refresh_cap_message(const AlertBook::Episode& ep, TimePoint now, const CapConfig& cap) {
  if (ep.cap.empty() || ep.latest.state != AlertEvent::State::kFiring) return std::nullopt;
  const CapMessage& last = ep.cap.back();
  if (last.type == CapMsgType::kCancel || now - last.sent < cap.expires / 2) return std::nullopt;
  return CapMessage{last.n + 1, CapMsgType::kUpdate, now, last.event};
}

std::string render_cap(const AlertBook::Episode& ep, const CapMessage& m, const CapContext& ctx) {
  const AlertEvent& e = m.event;
  const bool cancel = m.type == CapMsgType::kCancel;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n";
  element(out, 2, "identifier", cap_identifier(e.id, m.n));
  element(out, 2, "sender", ctx.cap.sender);
  element(out, 2, "sent", cap_time(m.sent));
  element(out, 2, "status", "Actual");
  element(out, 2, "msgType", to_string(m.type));
  element(out, 2, "source", "ioc-alerter rule " + e.rule);
  const std::string* scope = find(e.annotations, "cap_scope");
  element(out, 2, "scope", scope != nullptr ? *scope : "Public");
  if (scope != nullptr && *scope == "Restricted") {
    const std::string* restriction = find(e.annotations, "cap_restriction");
    element(out, 2, "restriction", restriction != nullptr ? *restriction : "Operations center only");
  }
  // Every earlier message of the episode (those kept), oldest first.
  std::string refs;
  for (const CapMessage& earlier : ep.cap) {
    if (earlier.n >= m.n) break;
    refs += (refs.empty() ? "" : " ") + ctx.cap.sender + "," + cap_identifier(e.id, earlier.n) + "," + cap_time(earlier.sent);
  }
  if (!refs.empty()) element(out, 2, "references", refs);
  element(out, 2, "incidents", e.id);

  const std::string* event = find(e.annotations, "event");
  const std::string event_name = event ? *event : e.rule;
  out += "  <info>\n";
  element(out, 4, "language", ctx.cap.language);
  const std::string* cap_category = find(e.annotations, "cap_category");
  element(out, 4, "category", cap_category ? *cap_category : "Other");
  element(out, 4, "event", event_name);
  element(out, 4, "responseType", cancel ? "AllClear" : "Monitor");
  element(out, 4, "urgency", cancel ? "Past" : "Immediate");
  element(out, 4, "severity", severity(e.severity));
  element(out, 4, "certainty", "Observed");
  element(out, 4, "effective", cap_time(cancel ? m.sent : e.starts_at));
  element(out, 4, "expires", cap_time(m.sent + ctx.cap.expires));
  element(out, 4, "senderName", ctx.cap.sender_name);
  if (cancel) {
    // The incident is over: say so, tell what it was at its worst, and give
    // no instruction (a dispatch order must not outlive its incident).
    const std::string area = area_name(e, ctx);
    const AlertEvent* peak = ep.peak ? &*ep.peak : nullptr;
    if (peak == nullptr) {
      for (const CapMessage& earlier : ep.cap) {
        if (earlier.n < m.n && earlier.type != CapMsgType::kCancel) peak = &earlier.event;
      }
    }
    const TimePoint began = ep.first_firing ? ep.first_firing->sent_at : e.starts_at;
    element(out, 4, "headline", "Ended: " + event_name + " in " + area);
    std::string text = "The " + event_name + " alert for " + area + " ended at " + format_rfc3339(e.ends_at) +
                       ", " + rules::format_duration(e.ends_at - began) + " after it began.";
    if (peak != nullptr && !peak->summary.empty()) text += " At its peak: " + peak->summary + ".";
    text += " No further action is needed.";
    element(out, 4, "description", text);
  } else {
    element(out, 4, "headline", e.summary.empty() ? e.rule : e.summary);
    element(out, 4, "description", e.description.empty() ? e.summary : e.description);
    if (!e.scenario.empty()) element(out, 4, "instruction", e.scenario);
  }
  element(out, 4, "web", ctx.external_url + "/api/v1/alerts/" + e.id);
  auto parameter = [&](const char* name, const std::string& value) {
    out += "    <parameter>\n";
    element(out, 6, "valueName", name);
    element(out, 6, "value", value);
    out += "    </parameter>\n";
  };
  parameter("state", to_string(e.state));
  parameter("rule", e.rule);
  parameter("fingerprint", e.fingerprint);
  if (!e.view.empty()) parameter("view", e.view);
  parameter(cancel ? "lastValue" : "value", number(e.value));
  parameter("threshold", e.comparator + " " + number(e.threshold));
  if (e.window_end != TimePoint{}) {
    parameter("windowStart", cap_time(e.window_start));
    parameter("windowEnd", cap_time(e.window_end));
  }
  if (!e.category.empty()) parameter("sdmCategory", e.category);
  if (!e.sub_category.empty()) parameter("sdmSubCategory", e.sub_category);
  if (!e.sample_ids.empty()) {
    std::string ids;
    for (const auto& id : e.sample_ids) ids += (ids.empty() ? "" : " ") + id;
    parameter("evidence", ids);
  }

  out += "    <area>\n";
  element(out, 6, "areaDesc", area_name(e, ctx));
  const std::string* district = find(e.group, "district");
  if (district != nullptr) {
    out += "      <geocode>\n";
    element(out, 8, "valueName", "GSO");
    element(out, 8, "value", *district);
    out += "      </geocode>\n";
  } else {
    const Province& p = ctx.province;
    if (p.lat_min && p.lat_max && p.lon_min && p.lon_max) {
      auto pt = [](double lat, double lon) { return number(lat) + "," + number(lon); };
      element(out, 6, "polygon",
              pt(*p.lat_min, *p.lon_min) + " " + pt(*p.lat_min, *p.lon_max) + " " + pt(*p.lat_max, *p.lon_max) + " " +
                  pt(*p.lat_max, *p.lon_min) + " " + pt(*p.lat_min, *p.lon_min));
    }
    if (!p.code.empty()) {
      out += "      <geocode>\n";
      element(out, 8, "valueName", "GSO");
      element(out, 8, "value", p.code);
      out += "      </geocode>\n";
    }
  }
  out += "    </area>\n";
  out += "  </info>\n</alert>\n";
  return out;
}

std::string render_cap_feed(const std::map<std::string, AlertBook::Episode, std::less<>>& episodes,
                            const CapContext& ctx) {
  std::vector<std::pair<const AlertBook::Episode*, const CapMessage*>> latest;
  for (const auto& [id, ep] : episodes) {
    if (!ep.cap.empty()) latest.emplace_back(&ep, &ep.cap.back());
  }
  std::sort(latest.begin(), latest.end(), [](const auto& a, const auto& b) {
    return a.second->sent != b.second->sent ? a.second->sent > b.second->sent : a.second->event.id < b.second->event.id;
  });
  const std::string self = ctx.external_url + "/api/v1/cap.atom";
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n";
  element(out, 2, "id", self);
  element(out, 2, "title", ctx.cap.sender_name + ": alerts (CAP 1.2)");
  // An empty feed still needs an <updated>: the epoch says "nothing yet".
  element(out, 2, "updated", format_rfc3339(latest.empty() ? TimePoint{} : latest.front().second->sent));
  out += "  <author>\n";
  element(out, 4, "name", ctx.cap.sender_name);
  out += "  </author>\n";
  out += "  <link rel=\"self\" type=\"application/atom+xml\" href=\"";
  append_markup_escaped(out, self);
  out += "\"/>\n";
  for (const auto& [ep, m] : latest) {
    const std::string url = ctx.external_url + cap_message_path(m->event.id, m->n);
    const std::string* event = find(m->event.annotations, "event");
    const std::string title = m->type == CapMsgType::kCancel
                                  ? "Ended: " + (event ? *event : m->event.rule) + " in " + area_name(m->event, ctx)
                                  : (m->event.summary.empty() ? m->event.rule : m->event.summary);
    out += "  <entry>\n";
    element(out, 4, "id", url);
    element(out, 4, "title", title);
    element(out, 4, "published", format_rfc3339(ep->cap.front().sent));
    element(out, 4, "updated", format_rfc3339(m->sent));
    element(out, 4, "summary", std::string(to_string(m->type)) + ", " + severity(m->event.severity) + ": " + title);
    out += "    <link rel=\"alternate\" type=\"application/cap+xml\" href=\"";
    append_markup_escaped(out, url);
    out += "\"/>\n";
    out += "  </entry>\n";
  }
  out += "</feed>\n";
  return out;
}

}  // namespace ioc::alerter
