#include "summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <set>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "api.hpp"
#include "ioc/codec/json.hpp"
#include "ioc/core/text.hpp"
#include "ioc/core/time_format.hpp"

namespace ioc::alerter {

namespace {

constexpr Millis kDay{86'400'000};

boost::json::value optional_json(const std::optional<double>& v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}
boost::json::value optional_json(const std::optional<bool>& v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

boost::json::object row_json(const SummaryRow& r, const KpiTargets& targets) {
  const Standing s = standing(r.totals, targets);
  boost::json::object o;
  if (!r.district.empty()) o["district"] = r.district;
  o["name"] = r.name;
  // Counts of applications: whole numbers, written as such.
  o["applications"] = std::llround(r.totals.count);
  o["online"] = std::llround(r.totals.online);
  o["completed"] = std::llround(r.totals.completed);
  o["overdue"] = std::llround(r.totals.overdue);
  o["online_rate"] = optional_json(s.online_rate);
  o["meets_online"] = optional_json(s.online_meets);
  o["overdue_ratio"] = optional_json(s.overdue_ratio);
  o["meets_overdue"] = optional_json(s.overdue_meets);
  o["reported"] = r.reported;
  o["complete"] = r.complete;
  return o;
}

std::string alert_link(const EpisodeRecord& e) { return "/api/v1/alerts/" + e.id; }

std::optional<std::int64_t> duration_seconds(const EpisodeRecord& e) {
  if (!e.ended) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(*e.ended - e.started).count();
}

std::string percent(const std::optional<double>& v) {
  if (!v) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", *v * 100.0);
  return buf;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string verdict(const std::optional<bool>& meets) {
  if (!meets) return "";
  return *meets ? "<span class=\"met\">&#10003; met</span>" : "<span class=\"missed\">&#9660; missed</span>";
}

void html_row(std::string& out, const SummaryRow& r, const KpiTargets& targets, bool province) {
  const Standing s = standing(r.totals, targets);
  out += province ? "<tr class=\"province\"><th scope=\"row\">" : "<tr><td>";
  append_markup_escaped(out, r.name);
  if (!r.district.empty()) {
    out += " <span class=\"code\">";
    append_markup_escaped(out, r.district);
    out += "</span>";
  }
  out += province ? "</th>" : "</td>";
  out += "<td class=\"n\">" + number(r.totals.count) + "</td>";
  out += "<td class=\"n\">" + percent(s.online_rate) + " " + verdict(s.online_meets) + "</td>";
  out += "<td class=\"n\">" + percent(s.overdue_ratio) + " " + verdict(s.overdue_meets) + "</td>";
  out += "<td>";
  out += !r.reported ? "no data" : r.complete ? "complete" : "so far";
  out += "</td></tr>\n";
}

}  // namespace

Result<TimePoint> parse_summary_date(std::string_view date, const SummaryContext& ctx) {
  const std::string shape = "must be a date YYYY-MM-DD (a local day at " + ctx.utc_offset + ")";
  const bool digits = date.size() == 10 && date[4] == '-' && date[7] == '-' &&
                      std::all_of(date.begin(), date.end(), [](char c) { return (c >= '0' && c <= '9') || c == '-'; });
  if (!digits) return invalid_argument(shape + ", got '" + std::string(date.substr(0, 40)) + "'");
  auto t = parse_rfc3339(std::string(date) + "T00:00:00" + ctx.utc_offset);
  // A date the calendar lacks (2024-02-30) must not roll over into another.
  if (!t.ok() || local_date(*t, ctx.offset) != date) {
    return invalid_argument(shape + ": '" + std::string(date) + "' is not a day of the calendar");
  }
  return *t;
}

Summary build_summary(std::string date, TimePoint from, const KpiLedger& ledger, const EpisodeHistory& history,
                      const SummaryContext& ctx) {
  Summary s;
  s.date = std::move(date);
  s.from = from;
  s.to = from + kDay;
  const std::vector<KpiDay> days = ledger.day(s.date);
  auto fill = [&](SummaryRow& row) {
    for (const KpiDay& d : days) {
      if (d.district != row.district) continue;
      row.totals = d.totals;
      row.reported = true;
      row.complete = d.complete;
    }
  };
  std::set<std::string, std::less<>> listed;
  if (ctx.registry != nullptr) {
    for (const District& d : ctx.registry->districts()) {
      SummaryRow row{d.code, d.name, {}, false, false};
      fill(row);
      s.districts.push_back(std::move(row));
      listed.insert(d.code);
    }
  }
  for (const KpiDay& d : days) {  // a district the registry does not know still counts
    if (listed.contains(d.district)) continue;
    s.districts.push_back(SummaryRow{d.district, d.district, d.totals, true, d.complete});
  }
  s.province.name = ctx.province.empty() ? "Province" : ctx.province;
  s.province.complete = !days.empty();
  for (const SummaryRow& r : s.districts) {
    if (!r.reported) continue;
    s.province.totals += r.totals;
    s.province.reported = true;
    s.province.complete = s.province.complete && r.complete;
  }
  s.episodes = history.between(s.from, s.to);
  return s;
}

boost::json::object summary_json(const Summary& s, const SummaryContext& ctx) {
  boost::json::object o;
  o["date"] = s.date;
  o["utc_offset"] = ctx.utc_offset;
  o["from"] = format_rfc3339(s.from);
  o["to"] = format_rfc3339(s.to);
  o["targets"] = boost::json::object{{"online_rate", ctx.targets.online}, {"overdue_ratio", ctx.targets.overdue}};
  boost::json::array districts;
  for (const SummaryRow& r : s.districts) districts.push_back(row_json(r, ctx.targets));
  o["districts"] = std::move(districts);
  o["province"] = row_json(s.province, ctx.targets);
  o["complete"] = s.province.complete;
  boost::json::array episodes;
  for (const EpisodeRecord& e : s.episodes) {
    boost::json::object x;
    x["id"] = e.id;
    x["rule"] = e.rule;
    x["severity"] = e.severity;
    x["labels"] = codec::labels_json(e.labels);
    x["started"] = format_rfc3339(e.started);
    x["ended"] = e.ended ? boost::json::value(format_rfc3339(*e.ended)) : boost::json::value(nullptr);
    const auto d = duration_seconds(e);
    x["duration_seconds"] = d ? boost::json::value(*d) : boost::json::value(nullptr);
    x["peak"] = e.peak_summary;
    x["peak_value"] = e.peak_value;
    x["link"] = alert_link(e);
    episodes.push_back(std::move(x));
  }
  o["episode_count"] = episodes.size();
  o["episodes"] = std::move(episodes);
  return o;
}

std::string summary_html(const Summary& s, const SummaryContext& ctx) {
  std::string out;
  out.reserve(16 * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>";
  append_markup_escaped(out, s.province.name);
  out += " · summary of ";
  append_markup_escaped(out, s.date);
  out += "</title>\n<style>\n"
         "body{font:11pt/1.35 system-ui,sans-serif;margin:1.5em;color:#111}\n"
         "h1{font-size:16pt;margin:0 0 .2em}h2{font-size:13pt;margin:1.2em 0 .4em}\n"
         "table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ccc;padding:.2em .4em;text-align:left}\n"
         "td.n{text-align:right;white-space:nowrap}.code{color:#666;font-size:9pt}\n"
         ".met{color:#176317}.missed{color:#a40000;font-weight:bold}tr.province{font-weight:bold;border-top:2px solid #111}\n"
         ".note{color:#444;font-size:9pt}\n"
         "@media print{body{margin:0}@page{size:A4;margin:12mm}tr{break-inside:avoid}a{color:inherit;text-decoration:none}}\n"
         "</style></head><body>\n<h1>";
  append_markup_escaped(out, s.province.name);
  out += " — summary of ";
  append_markup_escaped(out, s.date);
  out += "</h1>\n<p class=\"note\">Local day ";
  append_markup_escaped(out, s.date);
  out += " (UTC";
  append_markup_escaped(out, ctx.utc_offset);
  out += "), ";
  append_markup_escaped(out, format_rfc3339(s.from));
  out += " to ";
  append_markup_escaped(out, format_rfc3339(s.to));
  out += s.province.complete ? ". Complete." : ". The day so far: not complete.";
  out += " Targets: online at least " + percent(ctx.targets.online) + ", overdue at most " +
         percent(ctx.targets.overdue) + " of closed applications. A target missed is a KPI, not an alert.</p>\n";
  out += "<h2>Districts against the KPI targets</h2>\n<table><thead><tr><th>District</th><th>Applications</th>"
         "<th>Online</th><th>Overdue</th><th>Day</th></tr></thead><tbody>\n";
  for (const SummaryRow& r : s.districts) html_row(out, r, ctx.targets, false);
  html_row(out, s.province, ctx.targets, true);
  out += "</tbody></table>\n<h2>Alert episodes (" + std::to_string(s.episodes.size()) + ")</h2>\n";
  if (s.episodes.empty()) {
    out += "<p>No alert fired this day.</p>\n";
  } else {
    out += "<table><thead><tr><th>Rule</th><th>Severity</th><th>Labels</th><th>Started</th><th>Ended</th>"
           "<th>Duration</th><th>Peak</th></tr></thead><tbody>\n";
    for (const EpisodeRecord& e : s.episodes) {
      out += "<tr><td><a href=\"";
      append_markup_escaped(out, alert_link(e));
      out += "\">";
      append_markup_escaped(out, e.rule);
      out += "</a></td><td>";
      append_markup_escaped(out, e.severity);
      out += "</td><td>";
      bool first = true;
      for (const Label& l : e.labels) {
        if (l.name == "alertname" || l.name == "severity") continue;
        if (!first) out += ", ";
        first = false;
        append_markup_escaped(out, l.name);
        out += "=";
        append_markup_escaped(out, l.value);
      }
      out += "</td><td>";
      append_markup_escaped(out, format_rfc3339(e.started));
      out += "</td><td>";
      append_markup_escaped(out, e.ended ? format_rfc3339(*e.ended) : std::string("still firing"));
      out += "</td><td class=\"n\">";
      if (const auto d = duration_seconds(e)) {
        out += std::to_string(*d / 60) + " min";
      } else {
        out += "–";
      }
      out += "</td><td>";
      append_markup_escaped(out, e.peak_summary);
      out += "</td></tr>\n";
    }
    out += "</tbody></table>\n";
  }
  out += "</body></html>\n";
  return out;
}

void add_summary_routes(http::Router& router, const KpiLedger& ledger, const EpisodeHistory& history,
                        SummaryContext ctx) {
  auto handler = [&ledger, &history, ctx](bool html) {
    return [&ledger, &history, ctx, html](const http::Request& req, const http::Params&, const http::Responder& r) {
      const auto date = http::query_param(req.target(), "date");
      if (!date) {
        r.send(bad_request("date", "required: a date YYYY-MM-DD (a local day at " + ctx.utc_offset + ")"));
        return;
      }
      auto from = parse_summary_date(*date, ctx);
      if (!from.ok()) {
        r.send(bad_request("date", from.error().message));
        return;
      }
      const Summary s = build_summary(*date, *from, ledger, history, ctx);
      if (html) {
        r.send(http::make_response(http::Status::ok, summary_html(s, ctx), "text/html; charset=utf-8"));
      } else {
        r.send(http::make_response(http::Status::ok, boost::json::serialize(summary_json(s, ctx))));
      }
    };
  };
  router.add(http::Verb::get, "/api/v1/summary", "summary", handler(false));
  router.add(http::Verb::get, "/api/v1/summary.html", "summary_html", handler(true));
  router.add(http::Verb::get, "/summary", "summary_page", handler(true));
}

}  // namespace ioc::alerter
