// The operations wall. Everything it shows comes from /events (Server-Sent
// Events from ioc-wall): a snapshot first, then each section whenever it
// changes. EventSource reconnects by itself and sends Last-Event-ID, so
// the server replays what was missed (or sends a new snapshot).
"use strict";

(() => {
  const SECTIONS = ["service", "districts", "kpis", "alerts", "reports", "freshness"];
  const FEED_LABELS = { reports: "Reports", transactions: "Transactions", telemetry: "Telemetry" };
  const STATUS_LABELS = { critical: "CRITICAL", warning: "WARNING", info: "INFO", ok: "OK" };

  const data = {};
  let clockOffset = 0; // server time - local time, ms
  let lastEventId = "";
  let source = null;

  const $ = (id) => document.getElementById(id);
  const now = () => Date.now() + clockOffset;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  // ------------------------------------------------------------ icons (SVG)

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  }
  // One shape per state, so states differ without colour too.
  function icon(kind) {
    const s = svg("svg", { viewBox: "0 0 20 20", class: "icon", "aria-hidden": "true" });
    const c = "currentColor";
    switch (kind) {
      case "critical": // octagon with a bar: stop
        s.append(svg("polygon", { points: "6,1 14,1 19,6 19,14 14,19 6,19 1,14 1,6", fill: c }));
        s.append(svg("rect", { x: 4.5, y: 8.5, width: 11, height: 3, fill: "#000", opacity: 0.55 }));
        break;
      case "warning": // triangle with an exclamation mark
        s.append(svg("polygon", { points: "10,1 19.5,18.5 0.5,18.5", fill: c }));
        s.append(svg("rect", { x: 9, y: 6.5, width: 2, height: 6.5, fill: "#000", opacity: 0.6 }));
        s.append(svg("rect", { x: 9, y: 14.5, width: 2, height: 2, fill: "#000", opacity: 0.6 }));
        break;
      case "info": // circle with an i
        s.append(svg("circle", { cx: 10, cy: 10, r: 9, fill: c }));
        s.append(svg("rect", { x: 9, y: 8.5, width: 2, height: 7, fill: "#000", opacity: 0.55 }));
        s.append(svg("rect", { x: 9, y: 4.5, width: 2, height: 2, fill: "#000", opacity: 0.55 }));
        break;
      case "pending": // hourglass
        s.append(svg("polygon", { points: "3,1 17,1 10,10 17,19 3,19 10,10", fill: "none", stroke: c, "stroke-width": 2 }));
        break;
      case "stale": // a cross
        s.append(svg("path", { d: "M3 3 L17 17 M17 3 L3 17", stroke: c, "stroke-width": 3.5, "stroke-linecap": "round" }));
        break;
      case "ok": default: // a tick
        s.append(svg("path", { d: "M2.5 10.5 L8 16 L17.5 4", fill: "none", stroke: c, "stroke-width": 3.2, "stroke-linecap": "round", "stroke-linejoin": "round" }));
        break;
    }
    return s;
  }
  function label(kind, text) {
    return el("span", { class: "label" }, icon(kind), " " + text);
  }

  // ------------------------------------------------------------ formatting

  const fmtInt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const pct = (v) => (v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%");
  function duration(ms) {
    if (ms === null || ms === undefined) return "—";
    const s = ms / 1000;
    if (s < 60) return s.toFixed(0) + " s";
    if (s < 3600) return (s / 60).toFixed(1) + " min";
    if (s < 86400) return (s / 3600).toFixed(1) + " h";
    return (s / 86400).toFixed(1) + " d";
  }
  function since(t) {
    if (!t) return "";
    const s = Math.max(0, Math.round((now() - t) / 1000));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }
  const hhmm = (t) => (t ? new Date(t).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" }) : "");
  const hhmmss = (t) => new Date(t).toLocaleTimeString("en-GB", { hour12: false });
  // "Huyện Bá Thước" → "Bá Thước": the unit's kind is not needed on a tile.
  const shortName = (name) => (name || "").replace(/^(Huyện|Thị xã|Thành phố|Quận)\s+/u, "");

  // ------------------------------------------------------------ sparklines

  function sparkline(target, history, opts = {}) {
    target.replaceChildren();
    const pts = history || [];
    if (pts.length < 2) {
      target.append(el("span", { class: "none", text: pts.length ? "collecting…" : "" }));
      return;
    }
    const t0 = pts[0][0], t1 = pts[pts.length - 1][0];
    let lo = Math.min(...pts.map((p) => p[1])), hi = Math.max(...pts.map((p) => p[1]));
    if (opts.target !== undefined) { lo = Math.min(lo, opts.target); hi = Math.max(hi, opts.target); }
    if (opts.zero) lo = Math.min(lo, 0);
    if (hi === lo) { hi += 1; lo -= opts.zero ? 0 : 1; }
    const x = (t) => ((t - t0) / Math.max(1, t1 - t0)) * 100;
    const y = (v) => 28 - ((v - lo) / (hi - lo)) * 26;
    const s = svg("svg", { viewBox: "0 0 100 30", preserveAspectRatio: "none", role: "img", "aria-label": opts.label || "trend" });
    if (opts.target !== undefined) {
      s.append(svg("line", { class: "target", x1: 0, x2: 100, y1: y(opts.target), y2: y(opts.target) }));
    }
    s.append(svg("polyline", { points: pts.map((p) => x(p[0]).toFixed(2) + "," + y(p[1]).toFixed(2)).join(" ") }));
    target.append(s);
  }

  // ------------------------------------------------------------ sections

  function setTile(kpi, state, value, windowInfo) {
    const tile = document.querySelector(`.tile[data-kpi="${kpi}"]`);
    tile.dataset.state = state;
    tile.dataset.value = value === null || value === undefined ? "" : String(value);
    if (windowInfo) {
      tile.dataset.windowStart = String(windowInfo.start);
      tile.dataset.windowEnd = String(windowInfo.end);
    } else {
      delete tile.dataset.windowStart;
      delete tile.dataset.windowEnd;
    }
  }

  function renderKpis(k) {
    // Reports per category
    const r = k.reports;
    $("kpi-reports").textContent = fmtInt.format(r.total);
    setTile("reports", r.window ? "neutral" : "nodata", r.total, r.window);
    $("kpi-reports-tag").replaceChildren(r.window ? "" : label("stale", "NO DATA"));
    const cats = [...r.by_category].filter((c) => c.count > 0).sort((a, b) => b.count - a.count).slice(0, 5);
    $("kpi-reports-cats").replaceChildren(
      ...cats.map((c) => el("li", { "data-category": c.code, "data-value": String(c.count) }, c.name + " ", el("b", { text: fmtInt.format(c.count) }))));
    sparkline($("spark-reports"), r.history, { zero: true, label: "reports per 15 minutes" });

    // Online rate vs target
    const o = k.online_rate;
    $("kpi-online").textContent = pct(o.value);
    const below = o.value !== null && o.value < o.target;
    setTile("online_rate", o.value === null ? "nodata" : below ? "bad" : "good", o.value, o.window);
    const target = pct(o.target).replace(".0", "");
    $("kpi-online-tag").replaceChildren(o.value === null ? label("stale", "NO DATA")
      : below ? label("warning", "BELOW " + target) : label("ok", "≥ " + target + " TARGET"));
    $("kpi-online-sub").textContent = o.value === null ? "target " + pct(o.target).replace(".0", "")
      : `${fmtInt.format(o.online)} of ${fmtInt.format(o.count)} online`;
    sparkline($("spark-online"), o.history, { target: o.target, label: "online rate" });

    // Overdue ratio
    const d = k.overdue_ratio;
    $("kpi-overdue").textContent = pct(d.value);
    setTile("overdue_ratio", d.value === null ? "nodata" : "neutral", d.value, d.window);
    $("kpi-overdue-sub").textContent = d.value === null ? "no closed applications yet"
      : `${fmtInt.format(d.overdue)} of ${fmtInt.format(d.closed)} closed were late`;
    sparkline($("spark-overdue"), d.history, { zero: true, label: "overdue ratio" });

    // p95 processing time (slowest district)
    const p = k.processing_p95;
    $("kpi-p95").textContent = duration(p.value_ms);
    setTile("processing_p95", p.value_ms === null ? "nodata" : "neutral", p.value_ms, p.window);
    $("kpi-p95-sub").textContent = p.value_ms === null ? "no closed applications yet" : shortName(p.district_name);
    sparkline($("spark-p95"), p.history, { label: "p95 processing time" });

    // Stations
    const s = k.stations;
    $("kpi-stations").textContent = s.total ? fmtInt.format(s.reporting) : "—";
    const silent = s.total - s.reporting;
    setTile("stations", s.total ? (silent > 0 ? "bad" : "good") : "nodata", s.reporting, null);
    document.querySelector('.tile[data-kpi="stations"]').dataset.total = String(s.total);
    $("kpi-stations-tag").replaceChildren(!s.total ? label("stale", "NO DATA")
      : silent > 0 ? label("warning", fmtInt.format(silent) + " SILENT") : label("ok", "ALL UP"));
    $("kpi-stations-sub").textContent = `of ${fmtInt.format(s.total)} heard in 1 h · silent after ${Math.round(s.silence_s)} s`;
    sparkline($("spark-stations"), s.history, { label: "stations reporting" });

    // River level
    const w = k.water_level;
    $("kpi-water").textContent = w.value_m === null ? "—" : w.value_m.toFixed(2) + " m";
    setTile("water_level", w.value_m === null ? "nodata" : "neutral", w.value_m, w.window);
    $("kpi-water-sub").textContent = w.value_m === null ? "no gauge data" : `${shortName(w.district_name)} · ${w.station}`;
    sparkline($("spark-water"), w.history, { label: "highest water level" });
  }

  // A district against the KPI targets: a status in words and marks (✓ at
  // target, ▼ below), kept apart from the alert colours on purpose.
  function standing(t) {
    const part = (name, k, cmp) => {
      if (k.value === null) return null;
      return el("span", { class: k.meets ? "meets" : "below", title: `${name} ${pct(k.value)}, target ${cmp} ${pct(k.target)}` },
        `${name} `, el("b", { text: pct(k.value) }), k.meets ? " ✓" : " ▼");
    };
    return el("span", { class: "targets" }, part("online", t.online_rate, "≥"), " ", part("late", t.overdue_ratio, "≤"));
  }

  function renderDistricts(list) {
    const counts = {};
    $("districts").replaceChildren(...list.map((d) => {
      counts[d.status] = (counts[d.status] || 0) + 1;
      const facts = el("div", { class: "facts" });
      facts.append(el("span", {}, el("b", { text: fmtInt.format(d.reports) }), " reports"));
      // Second, so that a laptop's smaller tiles keep it.
      const t = d.targets;
      if (t && (t.online_rate.value !== null || t.overdue_ratio.value !== null)) facts.append(standing(t));
      if (d.water_level_m !== null) facts.append(el("span", {}, el("b", { text: d.water_level_m.toFixed(1) + " m" }), " river"));
      if (d.stations_total) {
        const silent = d.stations_total - d.stations_reporting;
        facts.append(el("span", { class: silent > 0 ? "alarm" : null },
          el("b", { text: `${d.stations_reporting}/${d.stations_total}` }), silent > 0 ? " BTS up" : " BTS"));
      }
      const meets = (k) => (d.targets && d.targets[k].meets !== null ? String(d.targets[k].meets) : "");
      return el("div", { class: "district", "data-code": d.code, "data-status": d.status, title: `${d.name} (${d.code})`,
        "data-online-meets": meets("online_rate"), "data-overdue-meets": meets("overdue_ratio") },
        el("div", { class: "name", text: shortName(d.name) }),
        el("div", { class: "status" }, icon(d.status), STATUS_LABELS[d.status]),
        facts);
    }));
    const parts = ["critical", "warning"].filter((s) => counts[s]).map((s) => `${counts[s]} ${STATUS_LABELS[s]}`);
    const known = list.filter((d) => d.targets && d.targets.online_rate.meets !== null);
    const onTarget = known.length ? ` · ${known.filter((d) => d.targets.online_rate.meets).length}/${known.length} at the online target` : "";
    $("districts-summary").textContent = (parts.length ? "· " + parts.join(" · ") : `· all ${list.length} OK`) + onTarget;
  }

  // Alerts of one rule in one district and state (e.g. every silent BTS
  // station of a district) share one card, with their count.
  function grouped(list) {
    const groups = new Map();
    for (const a of list) {
      const key = [a.rule, a.state, a.severity, a.district].join("|");
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(a);
    }
    return [...groups.values()];
  }

  // What a card's folded alerts are called: stations when each names one.
  function foldedText(folded) {
    const what = folded.every((f) => f.group && f.group.source_id) ? "station" : "alert";
    return `+${folded.length} ${what}${folded.length === 1 ? "" : "s"}`;
  }

  // The alerts folded into a card (the ones its alert inhibits), listed on
  // demand: the card stays one line of the wall, the alerts stay findable.
  function foldedList(folded) {
    const d = el("details", { class: "folded" }, el("summary", { text: `${foldedText(folded)} folded into this incident` }));
    const shown = folded.slice(0, 30);
    d.append(el("ol", {}, ...shown.map((f) => el("li", { "data-fingerprint": f.fingerprint, text: f.summary || f.rule }))));
    if (folded.length > shown.length) d.append(el("div", { class: "measure", text: `and ${folded.length - shown.length} more` }));
    return d;
  }

  function renderAlert(group, resolved) {
    const a = group[0];
    const folded = resolved ? [] : group.flatMap((x) => x.folded || []);
    const sev = resolved ? "ok" : a.severity;
    const sevText = resolved ? "RESOLVED" : STATUS_LABELS[a.severity];
    const where = a.district ? shortName(a.district_name) : "Province";
    const num = (x) => Number(x).toLocaleString("en-US", { maximumFractionDigits: 3 });
    const measure = a.view && a.comparator ? `${a.rule} · ${a.view}: ${num(a.value)} ${a.comparator} ${num(a.threshold)}`
      : a.view ? `${a.rule} · ${a.view}` : a.rule;
    const li = el("li", { class: "alert", "data-fingerprint": a.fingerprint, "data-fingerprints": group.map((x) => x.fingerprint).join(" "),
      "data-count": String(group.length), "data-folded-count": String(folded.length),
      "data-folded": folded.map((f) => f.fingerprint).join(" "), "data-severity": a.severity, "data-state": resolved ? "resolved" : a.state, "data-district": a.district || "" },
      el("div", { class: "head" },
        el("span", { class: "sev" }, icon(sev), sevText),
        el("span", { class: "where", text: where }),
        group.length > 1 ? el("span", { class: "count", text: `× ${group.length}` }) : null,
        folded.length ? el("span", { class: "count", text: foldedText(folded) }) : null,
        el("span", { class: "age", "data-since": String(resolved ? a.ends_at || "" : a.starts_at || ""), "data-prefix": resolved ? "resolved " : "for " })),
      el("div", { class: "summary", text: a.summary || a.description || a.rule }));
    if (group.length > 1 && !resolved) {
      const others = group.slice(1).map((x) => (x.group && (x.group.source_id || x.group.category)) || x.fingerprint);
      li.append(el("div", { class: "measure", text: `and ${group.length - 1} more: ${others.slice(0, 8).join(", ")}${others.length > 8 ? ", …" : ""}` }));
    }
    if (!resolved) li.append(el("div", { class: "measure", text: measure }));
    if (folded.length) li.append(foldedList(folded));
    if (a.scenario && !resolved) li.append(el("div", { class: "scenario", text: a.scenario }));
    if (a.evidence && a.evidence.length && !resolved) {
      const ev = el("ol", { class: "evidence", "aria-label": "evidence" });
      ev.append(el("li", { text: `Evidence: ${a.evidence_total} report${a.evidence_total === 1 ? "" : "s"}` }));
      for (const e of a.evidence) {
        const item = el("li", { "data-report-id": e.id }, el("span", { class: "rid", text: e.id.slice(0, 13) }));
        if (e.description !== undefined) {
          item.append(` ${hhmm(e.received_at)} ${e.category_name || e.category}: ${e.description || "(no description)"}`);
        }
        ev.append(item);
      }
      li.append(ev);
    }
    return li;
  }

  function renderAlerts(a) {
    $("alerts").replaceChildren(...grouped(a.active).map((g) => renderAlert(g, false)));
    $("alerts-empty").hidden = a.active.length > 0;
    $("alerts-empty").replaceChildren(icon("ok"), " No active alerts");
    $("resolved").replaceChildren(...grouped(a.resolved).slice(0, 5).map((g) => renderAlert(g, true)));
    $("resolved-title").hidden = a.resolved.length === 0;
    const c = a.counts;
    const parts = ["critical", "warning", "info"].filter((s) => c[s]).map((s) => `${c[s]} ${STATUS_LABELS[s]}`);
    $("alert-counts").textContent = parts.length ? "· " + parts.join(" · ") : "";
    tickAges();
  }

  function renderReports(list) {
    $("reports").replaceChildren(...list.map((r) => el("li", { class: "report", "data-id": r.id },
      el("time", { text: hhmm(r.received_at) }),
      el("span", { class: "cat", text: r.category_name || r.category }),
      el("span", { class: "where", text: shortName(r.district_name) }),
      el("span", { class: "text", text: r.description || r.address || "" }))));
  }

  function renderFreshness(feeds) {
    $("feeds").replaceChildren(...feeds.map((f) => el("li", { class: "feed", "data-feed": f.feed, "data-stale": String(f.stale) },
      icon(f.stale ? "stale" : "ok"),
      el("b", { text: FEED_LABELS[f.feed] || f.feed }),
      el("span", { class: "state", text: f.stale ? (f.last_arrival ? "STALE" : "NO DATA") : "FRESH" }),
      el("span", { class: "age", "data-since": String(f.last_arrival || ""), title: "since the latest result" }))));
    tickAges();
  }

  function renderService(s) {
    $("title").textContent = s.title;
    document.title = s.title;
    document.body.dataset.restored = String(s.restored);
    const banner = $("banner");
    if (!s.restored) {
      banner.hidden = false;
      banner.textContent = "Restoring the wall from Kafka… the numbers appear when it has read back the topics.";
    } else if (!s.broker_connected) {
      banner.hidden = false;
      banner.textContent = "No connection to the Kafka broker: the numbers below stop at the last update.";
    } else {
      banner.hidden = true;
    }
  }

  const RENDER = { service: renderService, districts: renderDistricts, kpis: renderKpis, alerts: renderAlerts, reports: renderReports, freshness: renderFreshness };

  function apply(name, value) {
    data[name] = value;
    const f = RENDER[name];
    if (!f) return;
    try {
      f(value);
    } catch (err) {
      console.error("rendering", name, err);
    }
  }

  // ------------------------------------------------------------ clock and ages

  function tickAges() {
    for (const e of document.querySelectorAll("[data-since]")) {
      const t = Number(e.dataset.since);
      e.textContent = !t ? "" : (e.dataset.prefix || "") + since(t);
    }
  }
  function tick() {
    $("clock").textContent = hhmmss(now());
    tickAges();
  }

  // ------------------------------------------------------------ the stream

  function setLink(state, text) {
    document.body.dataset.link = state;
    $("link-text").textContent = text;
    $("link-icon").replaceChildren(icon(state === "live" ? "ok" : "pending"));
  }

  function connect() {
    const url = lastEventId ? "/events?lastEventId=" + encodeURIComponent(lastEventId) : "/events";
    source = new EventSource(url);
    source.addEventListener("open", () => setLink("live", "LIVE"));
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (e.g. too many clients): try again later, from where we were.
        setLink("reconnecting", "RECONNECTING");
        setTimeout(connect, 5000);
      } else {
        setLink("reconnecting", "RECONNECTING");
      }
    });
    source.addEventListener("snapshot", (e) => {
      lastEventId = e.lastEventId;
      const m = JSON.parse(e.data);
      clockOffset = m.server_time - Date.now();
      for (const name of SECTIONS) if (m.sections[name] !== undefined) apply(name, m.sections[name]);
      document.body.dataset.lastEventId = lastEventId;
    });
    for (const name of SECTIONS) {
      source.addEventListener(name, (e) => {
        lastEventId = e.lastEventId;
        const m = JSON.parse(e.data);
        clockOffset = m.server_time - Date.now();
        apply(name, m.data);
        document.body.dataset.lastEventId = lastEventId;
      });
    }
  }

  connect();
  tick();
  setInterval(tick, 1000);
})();
