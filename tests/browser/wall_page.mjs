// Opens the ioc-wall page in Debian's Chromium (headless), waits until it
// shows what the caller expects, and prints what the page shows (and the
// wall's /api/v1/state read at the same moment) as JSON on stdout.
//
//   node wall_page.mjs --url http://127.0.0.1:8088/ --width 1920 --height 1080 \
//        [--district 386 --status critical,warning] [--alert FINGERPRINT] [--stale-feed telemetry] \
//        [--screenshot out.png] [--timeout 60]
//
// Exit codes: 0 done, 1 the page never showed it (the last view is printed), 2 usage.
import { chromium } from "playwright-core";

function args() {
  const out = { width: 1920, height: 1080, timeout: 60, status: "" };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, "");
    if (argv[i + 1] === undefined) throw new Error(`--${k} needs a value`);
    out[k] = argv[i + 1];
  }
  if (!out.url) throw new Error("--url is required");
  out.width = Number(out.width);
  out.height = Number(out.height);
  out.timeout = Number(out.timeout);
  out.status = out.status ? out.status.split(",") : [];
  return out;
}

// What a person sees, read from the DOM (text and the data-* attributes
// the page keeps beside it).
function view() {
  const q = (s) => [...document.querySelectorAll(s)];
  const tile = (k) => {
    const t = document.querySelector(`.tile[data-kpi="${k}"]`);
    return {
      value: t.dataset.value === "" || t.dataset.value === undefined ? null : Number(t.dataset.value),
      window_start: t.dataset.windowStart ? Number(t.dataset.windowStart) : null,
      state: t.dataset.state || null,
      total: t.dataset.total ? Number(t.dataset.total) : null,
      text: t.querySelector(".big").textContent,
      tag: t.querySelector(".tag") ? t.querySelector(".tag").textContent : "",
    };
  };
  return {
    link: document.body.dataset.link,
    restored: document.body.dataset.restored,
    last_event_id: document.body.dataset.lastEventId || "",
    title: document.getElementById("title").textContent,
    banner: document.getElementById("banner").hidden ? "" : document.getElementById("banner").textContent,
    districts: q(".district").map((d) => ({ code: d.dataset.code, status: d.dataset.status, text: d.innerText,
      online_meets: d.dataset.onlineMeets, overdue_meets: d.dataset.overdueMeets })),
    kpis: Object.fromEntries(["reports", "online_rate", "overdue_ratio", "processing_p95", "stations", "water_level"].map((k) => [k, tile(k)])),
    report_categories: Object.fromEntries(q("#kpi-reports-cats li").map((li) => [li.dataset.category, Number(li.dataset.value)])),
    alerts: q("#alerts .alert").map((a) => ({
      fingerprint: a.dataset.fingerprint, fingerprints: a.dataset.fingerprints.split(" "), count: Number(a.dataset.count),
      folded: a.dataset.folded ? a.dataset.folded.split(" ") : [], folded_count: Number(a.dataset.foldedCount || 0),
      severity: a.dataset.severity, state: a.dataset.state,
      district: a.dataset.district, text: a.innerText,
    })),
    resolved: q("#resolved .alert").map((a) => ({ fingerprint: a.dataset.fingerprint, text: a.innerText })),
    reports: q("#reports .report").map((r) => r.dataset.id),
    feeds: q(".feed").map((f) => ({ feed: f.dataset.feed, stale: f.dataset.stale === "true", text: f.innerText })),
    overflow: document.documentElement.scrollHeight > window.innerHeight + 1 || document.documentElement.scrollWidth > window.innerWidth + 1,
    // What sticks out of the screen (and is not clipped by a panel).
    outside: q("body *").filter((e) => {
      const r = e.getBoundingClientRect();
      if (r.width === 0 || (r.right <= window.innerWidth + 1 && r.bottom <= window.innerHeight + 1)) return false;
      for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
        if (getComputedStyle(p).overflow !== "visible") return false;
      }
      return true;
    }).slice(0, 10).map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}x${Math.round(e.getBoundingClientRect().bottom)}`),
  };
}

function matches(v, o) {
  if (v.link !== "live" || v.restored !== "true") return false;
  if (o.district) {
    const d = v.districts.find((x) => x.code === o.district);
    if (!d || (o.status.length && !o.status.includes(d.status))) return false;
  }
  if (o.alert && !v.alerts.some((a) => a.fingerprints.includes(o.alert))) return false;
  if (o["stale-feed"] && !v.feeds.some((f) => f.feed === o["stale-feed"] && f.stale)) return false;
  return true;
}

async function main() {
  let o;
  try {
    o = args();
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    return 2;
  }
  const origin = new URL(o.url).origin;
  const browser = await chromium.launch({
    executablePath: process.env.IOC_CHROMIUM || "/usr/bin/chromium",
    // Root in CI needs --no-sandbox; the rest keeps Chromium off the network
    // and the GPU, so the page alone decides what is requested.
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
      "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const requests = [];
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: o.width, height: o.height }, deviceScaleFactor: 1 });
    page.on("request", (r) => requests.push(r.url()));
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    await page.goto(o.url, { waitUntil: "load" });
    const deadline = Date.now() + o.timeout * 1000;
    let v = await page.evaluate(view);
    while (!matches(v, o) && Date.now() < deadline) {
      await page.waitForTimeout(200);
      v = await page.evaluate(view);
    }
    const ok = matches(v, o);
    // Let the fonts and the last event settle before the picture.
    await page.waitForTimeout(300);
    v = await page.evaluate(view);
    const state = await page.evaluate(async () => (await fetch("/api/v1/state")).json());
    if (o.screenshot) await page.screenshot({ path: o.screenshot, fullPage: false });
    v.state = state;
    v.requests = requests;
    v.foreign_requests = requests.filter((u) => !u.startsWith(origin + "/") && !u.startsWith("data:"));
    v.errors = errors;
    v.matched = ok;
    process.stdout.write(JSON.stringify(v) + "\n");
    return ok ? 0 : 1;
  } finally {
    await browser.close();
  }
}

main().then((code) => process.exit(code), (e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(3);
});
