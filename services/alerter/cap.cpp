#include "cap.hpp"

#include <cstdio>

#include "ioc/core/time_format.hpp"

namespace ioc::alerter {

namespace {

void escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 has no place for most control characters.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
}

void element(std::string& out, int indent, const char* name, std::string_view text) {
  out.append(static_cast<std::size_t>(indent), ' ');
  out += '<';
  out += name;
  out += '>';
  escaped(out, text);
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

std::string cap_identifier(const std::string& id, std::uint32_t revision) {
  return "ioc-" + id + "-" + std::to_string(revision);
}

std::string render_cap(const AlertBook::Episode& episode, const CapContext& ctx) {
  const AlertEvent& e = episode.latest;
  const bool cancel = e.state == AlertEvent::State::kResolved || e.state == AlertEvent::State::kInactive;
  const bool pending = e.state == AlertEvent::State::kPending;
  const bool first_firing = e.state == AlertEvent::State::kFiring &&
                            (!episode.first_firing || episode.first_firing->revision == e.revision);
  const char* msg_type = cancel ? "Cancel" : (pending || first_firing || e.revision <= 1) ? "Alert" : "Update";

  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n";
  element(out, 2, "identifier", cap_identifier(e.id, e.revision));
  element(out, 2, "sender", ctx.cap.sender);
  element(out, 2, "sent", cap_time(e.sent_at));
  element(out, 2, "status", "Actual");
  element(out, 2, "msgType", msg_type);
  element(out, 2, "source", "ioc-alerter rule " + e.rule);
  element(out, 2, "scope", "Public");
  if (std::string_view(msg_type) != "Alert") {
    // The episode's first message (revision 1, sent when it began), and its
    // first firing message when that came later.
    std::string refs = ctx.cap.sender + "," + cap_identifier(e.id, 1) + "," + cap_time(e.starts_at);
    if (episode.first_firing && episode.first_firing->revision > 1 && episode.first_firing->revision < e.revision) {
      refs += " " + ctx.cap.sender + "," + cap_identifier(e.id, episode.first_firing->revision) + "," +
              cap_time(episode.first_firing->sent_at);
    }
    element(out, 2, "references", refs);
  }
  element(out, 2, "incidents", e.id);

  out += "  <info>\n";
  element(out, 4, "language", ctx.cap.language);
  const std::string* cap_category = find(e.annotations, "cap_category");
  element(out, 4, "category", cap_category ? *cap_category : "Other");
  const std::string* event = find(e.annotations, "event");
  element(out, 4, "event", event ? *event : e.rule);
  element(out, 4, "responseType", cancel ? "AllClear" : "Monitor");
  element(out, 4, "urgency", cancel ? "Past" : pending ? "Expected" : "Immediate");
  element(out, 4, "severity", severity(e.severity));
  element(out, 4, "certainty", pending ? "Possible" : "Observed");
  element(out, 4, "effective", cap_time(e.starts_at));
  element(out, 4, "senderName", ctx.cap.sender_name);
  element(out, 4, "headline", e.summary.empty() ? e.rule : e.summary);
  element(out, 4, "description", e.description.empty() ? e.summary : e.description);
  if (!e.scenario.empty()) element(out, 4, "instruction", e.scenario);
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
  parameter("value", number(e.value));
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
  const std::string* district = find(e.group, "district");
  if (district != nullptr) {
    const auto i = ctx.registry.district_index(*district);
    element(out, 6, "areaDesc", i ? ctx.registry.district(*i).name : "District " + *district);
    out += "      <geocode>\n";
    element(out, 8, "valueName", "GSO");
    element(out, 8, "value", *district);
    out += "      </geocode>\n";
  } else {
    const Province& p = ctx.province;
    element(out, 6, "areaDesc", p.name.empty() ? std::string("Province") : p.name);
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

}  // namespace ioc::alerter
