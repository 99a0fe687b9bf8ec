"""The operations wall end to end: ioc-broker, ioc-intake, ioc-aggregator and
ioc-wall as real processes, ioc-sim playing a flood in one district, and the
page in headless Chromium (Debian's chromium, driven by playwright-core from
tests/browser).

The flood's alert comes from ioc-alerter and its shipped rules when the
alerter is built (deploy/config/rules.yaml with the demo's overlay
rules-demo.yaml, FloodReportSurge); without it,
an independent client (python confluent-kafka) writes the AlertEvent as the
alerter would. Probes (SSE latency, a district's silent stations) are always
written by that client. The test checks that:
  - the page shows the flooded district in alert, with a text label, and the
    alert's scenario and evidence (real report ids from ioc.reports.v1);
  - every KPI on the page equals what the aggregates on ioc.aggregates.v1
    say, computed here independently from the topic;
  - a change written to a topic reaches /events within one second, and a
    reconnect with Last-Event-ID resumes with the missed events (or gets a
    snapshot when its id is unknown);
  - the page makes no request outside the wall's own origin and fits the
    screen at 1920x1080 and 1280x800; screenshots of both are kept in
    build/artifacts/.
"""

from http.client import HTTPConnection
import importlib
import json
import os
import shutil
import statistics
import subprocess
import time
import unittest

from harness import (BIN, CONFIG, SOURCE, SystemTestCase, free_port, http, intake_args, metric, produce, proto_modules,
                     read_topic, wait_until)

DISTRICT = "386"  # Bá Thước: the flood
ARTIFACTS = os.environ.get("IOC_ARTIFACTS", os.path.join(BIN, "..", "artifacts"))
BROWSER = os.path.join(SOURCE, "tests/browser")
ALERTER = os.path.join(BIN, "ioc-alerter")
RULES = os.path.join(SOURCE, "deploy/config/rules.yaml")
SILENCE_MS = 90_000  # wall.station_silence
HORIZON_MS = 3_600_000  # wall.station_horizon
ONLINE_TARGET, OVERDUE_TARGET = 0.80, 0.05  # kpi.online_target, kpi.overdue_target (deploy/config/ioc.yaml)


class SseClient:
    """A Server-Sent Events reader over http.client (chunked bodies)."""

    def __init__(self, port, last_event_id=None):
        self.conn = HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", "/events", headers=headers)
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, self.resp.status
        assert self.resp.getheader("Content-Type").startswith("text/event-stream")
        self.buf = b""  # bytes: a chunk may end inside a UTF-8 sequence
        self.last_id = last_event_id

    def next_event(self, timeout=10):
        """The next message as a dict (id, event, data); comments skipped."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n\n" in self.buf:
                block, self.buf = self.buf.split(b"\n\n", 1)
                msg = {}
                for line in block.decode().split("\n"):
                    if not line or line.startswith(":"):
                        continue
                    field, _, value = line.partition(": ")
                    msg[field] = value
                if "event" in msg or "data" in msg:
                    if "id" in msg:
                        self.last_id = msg["id"]
                    if "data" in msg:
                        msg["data"] = json.loads(msg["data"])
                    return msg
                if "retry" in msg:
                    self.retry = int(msg["retry"])
            if time.monotonic() > deadline:
                raise AssertionError(f"no event within {timeout}s; buffered: {self.buf[-500:]!r}")
            chunk = self.resp.read1(65536)
            if not chunk:
                raise AssertionError("the event stream ended")
            self.buf += chunk

    def close(self):
        self.conn.close()


def window_at(windows, now):
    """The window a KPI shows at `now` (the wall's rule, README "The wall"):
    of the windows containing now, the one that started first; else the
    latest that ended less than one window length ago; else none."""
    covering = [(s, e) for s, e in windows if s <= now < e]
    if covering:
        return min(covering)
    recent = [(s, e) for s, e in windows if e <= now and e > now - (e - s)]
    return max(recent) if recent else None


class Aggregates:
    """ioc.aggregates.v1 read independently: the highest revision of each
    (view, group, window start), and each BTS station's last sign of life."""

    def __init__(self, pb, bootstrap):
        self.latest = {}
        self.heard = {}
        stations = {}
        for rec in sorted(read_topic(bootstrap, "ioc.aggregates.v1"), key=lambda r: (r["partition"], r["offset"])):
            r = pb["window_result"].WindowResult()
            r.ParseFromString(rec["value"])
            group = {l.name: l.value for l in r.group}
            start, end = r.window_start.ToMilliseconds(), r.window_end.ToMilliseconds()
            values = {v.name: v.value for v in r.values}
            values.setdefault("count", r.count)
            if r.view == "station_5m":
                if group.get("kind") != "bts_heartbeat":
                    continue
                # Heard when a result carries more heartbeats than the one
                # before it (the view has no last_seen).
                s = stations.setdefault(group["source_id"], {"window": None, "count": 0, "heard": None})
                n = values["count"]
                if s["window"] is None or start > s["window"]:
                    if n > 0:
                        s["heard"] = max(s["heard"] or 0, rec["timestamp"])
                    s["window"], s["count"] = start, n
                elif start == s["window"] and n > s["count"]:
                    s["heard"] = max(s["heard"] or 0, rec["timestamp"])
                    s["count"] = n
                continue
            key = (r.view, tuple(sorted(group.items())), start)
            held = self.latest.get(key)
            if held is None or r.revision > held["revision"]:
                self.latest[key] = {"revision": r.revision, "group": group, "start": start, "end": end, "values": values}
        self.heard = {k: s["heard"] for k, s in stations.items() if s["heard"] is not None}

    def shown(self, view, now):
        """(window, [(group, values)]) a KPI of `view` reads at `now`."""
        rs = [x for (v, _, _), x in self.latest.items() if v == view]
        w = window_at({(x["start"], x["end"]) for x in rs}, now)
        if w is None:
            return None, []
        return w, [(x["group"], x["values"]) for x in rs if x["start"] == w[0]]

    def kpis(self, now, categories):
        out = {}
        w, rows = self.shown("reports_15m", now)
        by_cat = {c: 0 for c in categories}
        for g, v in rows:
            by_cat[g["category"]] = by_cat.get(g["category"], 0) + int(v["count"])
        out["reports"] = {"window": w, "total": sum(by_cat.values()), "by_category": by_cat}
        w, rows = self.shown("transactions_1h", now)
        s = {k: sum(v.get(k, 0) for _, v in rows) for k in ("count", "online", "completed", "overdue")}
        out["online_rate"] = {"window": w, "value": s["online"] / s["count"] if s["count"] else None}
        closed = s["completed"] + s["overdue"]
        out["overdue_ratio"] = {"window": w, "value": s["overdue"] / closed if closed else None}
        # Each district against the targets (kpi.online_target, kpi.overdue_target), over the same hour.
        out["targets"] = {}
        for g, v in rows:
            t = out["targets"].setdefault(g["district"], {"count": 0, "online": 0, "completed": 0, "overdue": 0})
            for k in t:
                t[k] += v.get(k, 0)
        for d, t in out["targets"].items():
            closed = t["completed"] + t["overdue"]
            online = t["online"] / t["count"] if t["count"] else None
            overdue = t["overdue"] / closed if closed else None
            out["targets"][d] = (online, None if online is None else online >= ONLINE_TARGET,
                                 overdue, None if overdue is None else overdue <= OVERDUE_TARGET)
        w, rows = self.shown("processing_1h", now)
        p95 = [(v["processing_ms_p95"], g["district"]) for g, v in rows if "processing_ms_p95" in v]
        top = max(p95, key=lambda x: (x[0], -int(x[1]))) if p95 else None  # ties: the lower district code
        out["processing_p95"] = {"window": w, "value": top[0] if top else None, "district": top[1] if top else ""}
        w, rows = self.shown("water_level_10m", now)
        levels = [v["max"] for _, v in rows if "max" in v]
        out["water_level"] = {"window": w, "value": max(levels) if levels else None}
        out["stations"] = {"reporting": sum(1 for t in self.heard.values() if min(t, now) >= now - SILENCE_MS),
                           "total": sum(1 for t in self.heard.values() if min(t, now) >= now - HORIZON_MS)}
        return out


def close(a, b):
    """Equal tuples (or dicts), numbers to within rounding."""
    if isinstance(a, dict):
        return a == b
    return len(a) == len(b) and all(
        x == y or (isinstance(x, (int, float)) and isinstance(y, (int, float)) and abs(x - y) <= 1e-9 * max(1, abs(y)))
        for x, y in zip(a, b))


class WallTest(SystemTestCase):
    def browse(self, url, width, height, *conditions, screenshot=None, timeout=60):
        """Runs tests/browser/wall_page.mjs; returns what the page showed."""
        if not os.path.isdir(os.path.join(BROWSER, "node_modules", "playwright-core")):
            self.fail(f"playwright-core is not installed in {BROWSER}: run scripts/install-deps.sh (npm ci)")
        argv = ["node", os.path.join(BROWSER, "wall_page.mjs"), "--url", url, "--width", str(width),
                "--height", str(height), "--timeout", str(timeout), *conditions]
        if screenshot:
            argv += ["--screenshot", screenshot]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 60)
        self.assertIn(p.returncode, (0, 1), f"browser failed: {p.stderr[-3000:]}")
        v = json.loads(p.stdout)
        self.assertEqual(v["errors"], [], "the page logged errors")
        self.assertEqual(v["foreign_requests"], [], "the page requested something outside the wall")
        self.assertTrue(v["matched"], f"the page never showed {conditions}: {json.dumps(v)[:3000]}")
        self.assertFalse(v["overflow"], f"the page does not fit {width}x{height}: {v['outside']}")
        return v

    def produce_alert(self, producer, ae, fingerprint, state, severity, district, revision, starts_at_ms, **fields):
        a = ae.AlertEvent(fingerprint=fingerprint, state=state, severity=severity, revision=revision,
                          id=f"{fingerprint}-{starts_at_ms}", **fields)
        a.group.add(name="district", value=district)
        a.labels.add(name="district", value=district)
        a.labels.add(name="severity", value=severity)
        a.starts_at.FromMilliseconds(starts_at_ms)
        a.sent_at.FromMilliseconds(int(time.time() * 1000))
        if state == ae.AlertEvent.STATE_RESOLVED:
            a.ends_at.FromMilliseconds(int(time.time() * 1000))
        produce(producer, "ioc.alerts.v1", a.SerializeToString(), key=fingerprint)
        producer.flush(10)
        return a

    def test_the_wall_shows_a_flood(self):
        os.makedirs(ARTIFACTS, exist_ok=True)
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap)
        common = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}"]
        iport = free_port()
        self.system.start("ioc-intake", *intake_args(bootstrap, iport)).wait_http(f"http://127.0.0.1:{iport}/readyz")
        aport = free_port()
        self.system.start("ioc-aggregator", *common, "--set", f"http.listen=127.0.0.1:{aport}")
        wport = free_port()
        wall = self.system.start("ioc-wall", *common, "--set", f"http.listen=127.0.0.1:{wport}",
                                 "--set", "wall.sparkline.interval=2s", "--set", "wall.stale_after.telemetry=20s")
        base = f"http://127.0.0.1:{wport}"
        wall.wait_http(f"{base}/readyz")
        sport = free_port()
        sim = self.system.start("ioc-sim", *common, "--set", f"http.listen=127.0.0.1:{sport}",
                                "--set", f"sim.intake=127.0.0.1:{iport}", "--set", "sim.reports_per_second=2",
                                "--set", "sim.telemetry_per_second=300", "--set", "sim.transactions_per_second=30",
                                "--scenario", "flood", "--district", DISTRICT, "--start", "0s", "--duration", "5m",
                                "--set", "sim.scenario.reports_per_second=4", "--seed", "11")
        sim.wait_http(f"http://127.0.0.1:{sport}/readyz")
        with_alerter = os.path.exists(ALERTER) and os.path.exists(RULES)
        if with_alerter:
            lport = free_port()
            self.system.start("ioc-alerter", *common, "--set", f"http.listen=127.0.0.1:{lport}",
                              "--set", f"alerter.state_dir={self.system.workdir}/alerter-state",
                              # The production FloodReportSurge judges a district against its last
                              # 3 hours, which a fresh system has not seen: the demo's overlay
                              # (a threshold per minute) is what a first look uses.
                              "--set", "alerter.rules=rules.yaml,rules-demo.yaml",
                              "--set", f"alerter.external_url=http://127.0.0.1:{lport}"
                              ).wait_http(f"http://127.0.0.1:{lport}/healthz")
        print(f"alerts from {'ioc-alerter' if with_alerter else 'an independent client'}")

        def state():
            return json.loads(http("GET", f"{base}/api/v1/state")[2])

        # The surge reaches the wall through the intake, the aggregator and its topic.
        def flooded():
            s = state()["sections"]
            d = next(x for x in s.get("districts", []) if x["code"] == DISTRICT)
            return d["reports"] >= 20 and s["kpis"]["stations"]["total"] > 1000 and s
        s = wait_until(flooded, 90, f"20 reports in {DISTRICT} and the BTS stations on the wall")

        pb = proto_modules(self.system.workdir)
        ae = importlib.import_module("ioc.v1.alert_event_pb2")
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
        if with_alerter:
            # The alerter's flood rule fires on the aggregates: read it back
            # from ioc.alerts.v1 with our own client.
            def fired():
                for rec in read_topic(bootstrap, "ioc.alerts.v1"):
                    a = ae.AlertEvent()
                    a.ParseFromString(rec["value"])
                    group = {l.name: l.value for l in a.group}
                    if (a.rule == "FloodReportSurge" and a.state == ae.AlertEvent.STATE_FIRING
                            and group.get("district") == DISTRICT and group.get("category") == "flood"):
                        return a
            flood = wait_until(fired, 120, f"ioc-alerter's FloodReportSurge for {DISTRICT}")
            flood_fp, scenario = flood.fingerprint, flood.scenario
            evidence = list(flood.sample_ids)
        else:
            # An alert as the alerter sends it, with real reports as evidence.
            floods = []
            for rec in read_topic(bootstrap, "ioc.reports.v1"):
                r = pb["report"].Report()
                r.ParseFromString(rec["value"])
                if r.district == DISTRICT and r.category == "flood":
                    floods.append(r.id)
            self.assertGreaterEqual(len(floods), 5)
            count = next(x for x in s["districts"] if x["code"] == DISTRICT)["reports"]
            scenario = ("Call the Bá Thước steering committee; send the rescue team to the river bank; "
                        "open the commune halls as shelters.")
            flood_fp = "flood-surge-386"
            evidence = floods[-5:]
            self.produce_alert(producer, ae, flood_fp, ae.AlertEvent.STATE_FIRING, "critical", DISTRICT, 1,
                               int(time.time() * 1000) - 60_000, rule="flood_reports_surge", view="reports_15m",
                               value=count, threshold=20, comparator=">=", category="naturalDisaster",
                               sub_category="flood", summary=f"{count} flood reports in Bá Thước in 15 min",
                               scenario=scenario, sample_ids=evidence)
        self.assertTrue(scenario)
        self.assertTrue(evidence)

        # ---- SSE: a change on a topic reaches /events within a second.
        events = SseClient(wport)
        first = events.next_event()
        self.assertEqual(first["event"], "snapshot")
        self.assertEqual(events.retry, 2000)
        latencies = []
        for i in range(5):
            fp = f"latency-{i}"
            t0 = time.monotonic()
            self.produce_alert(producer, ae, fp, ae.AlertEvent.STATE_FIRING, "warning", "380", 1,
                               int(time.time() * 1000), rule="latency_probe", summary=f"probe {i}")
            deadline = time.monotonic() + 30
            while True:
                self.assertLess(time.monotonic(), deadline, f"probe {fp} never reached /events")
                e = events.next_event(timeout=5)
                if e["event"] == "alerts" and any(a["fingerprint"] == fp for a in e["data"]["data"]["active"]):
                    break
            latencies.append(time.monotonic() - t0)
        with open(os.path.join(ARTIFACTS, "wall-sse-latency.txt"), "w") as f:
            f.write("topic -> /events latency (s): " + " ".join(f"{x:.3f}" for x in latencies) +
                    f"\nmedian {statistics.median(latencies):.3f} max {max(latencies):.3f}\n")
        print(f"SSE latency: median {statistics.median(latencies):.3f}s, max {max(latencies):.3f}s")
        # Within a second as a rule (the 250 ms publish interval sets the
        # median); one probe may take longer when the machine is busy (CI
        # runs this next to builds), never several seconds.
        self.assertLess(statistics.median(latencies), 1.0, latencies)
        self.assertLess(max(latencies), 2.5, latencies)

        # ---- A reconnect with Last-Event-ID gets what it missed, not a snapshot.
        seen = events.last_id
        events.close()
        for i in range(5):
            self.produce_alert(producer, ae, f"latency-{i}", ae.AlertEvent.STATE_RESOLVED, "warning", "380", 2,
                               int(time.time() * 1000), rule="latency_probe")
        wait_until(lambda: not any(a["fingerprint"].startswith("latency-")
                                   for a in state()["sections"]["alerts"]["active"]), 10, "the probes resolved")
        back = SseClient(wport, last_event_id=seen)
        e = back.next_event()
        self.assertNotEqual(e["event"], "snapshot", "a resumable id got a snapshot")
        ids = [e["id"]]
        resolved = set()
        while len(resolved) < 5:
            if e["event"] == "alerts":
                resolved = {a["fingerprint"] for a in e["data"]["data"]["resolved"] if a["fingerprint"].startswith("latency-")}
            if len(resolved) < 5:
                e = back.next_event(timeout=5)
                ids.append(e["id"])
        epoch = seen.rsplit("-", 1)[0]
        seqs = [int(i.rsplit("-", 1)[1]) for i in ids]
        self.assertEqual(seqs[0], int(seen.rsplit("-", 1)[1]) + 1, "the replay starts right after the last seen id")
        self.assertEqual(seqs, sorted(seqs))
        self.assertTrue(all(i.startswith(epoch + "-") for i in ids))
        back.close()
        stranger = SseClient(wport, last_event_id="0-1")  # another run's id
        self.assertEqual(stranger.next_event()["event"], "snapshot")
        stranger.close()

        # Three stations of one district silent.
        for i in range(3):
            a = ae.AlertEvent(fingerprint=f"bts-silent-384-{i}", state=ae.AlertEvent.STATE_FIRING, severity="warning",
                              revision=1, rule="BtsStationSilent", view="station_5m",
                              summary=f"BTS bts-384-000{i} in Mường Lát silent for 10m")
            a.group.add(name="district", value="384")
            a.group.add(name="source_id", value=f"bts-384-000{i}")
            a.starts_at.FromMilliseconds(int(time.time() * 1000) - 600_000)
            produce(producer, "ioc.alerts.v1", a.SerializeToString(), key=a.fingerprint)
        # Their district down as a whole: one incident, the stations folded into its card.
        down = ae.AlertEvent(fingerprint="bts-down-384", state=ae.AlertEvent.STATE_FIRING, severity="critical",
                             revision=1, rule="BtsStationsDown", view="station_5m",
                             summary="3 BTS stations down in Mường Lát")
        down.group.add(name="district", value="384")
        down.starts_at.FromMilliseconds(int(time.time() * 1000) - 300_000)
        down.id = f"bts-down-384-{down.starts_at.ToMilliseconds()}"
        produce(producer, "ioc.alerts.v1", down.SerializeToString(), key=down.fingerprint)
        producer.flush(10)

        # ---- The page, on the wall's screen, while the flood goes on.
        shot = os.path.join(ARTIFACTS, "wall-1920x1080.png")
        v = self.browse(f"{base}/", 1920, 1080, "--district", DISTRICT, "--status", "critical",
                        "--alert", flood_fp, screenshot=shot)
        district = next(d for d in v["districts"] if d["code"] == DISTRICT)
        self.assertIn("CRITICAL", district["text"])  # told apart without colour too
        self.assertIn("Bá Thước", district["text"])
        self.assertTrue(all("OK" in d["text"] or d["status"] != "ok" for d in v["districts"]))
        self.assertEqual(len(v["districts"]), 27)
        card = next(a for a in v["alerts"] if flood_fp in a["fingerprints"])
        self.assertEqual(card["severity"], "critical")
        self.assertIn("CRITICAL", card["text"])
        shown = state()["sections"]["alerts"]["active"]
        first = next(a for a in shown if a["fingerprint"] == card["fingerprint"])  # the card shows the first of its group
        self.assertIn(first["scenario"], card["text"])
        self.assertTrue(any(e["id"][:13] in card["text"] for e in first["evidence"]), card["text"])  # the evidence
        if card["fingerprint"] == flood_fp:
            self.assertIn(scenario, card["text"])
            self.assertTrue(any(i[:13] in card["text"] for i in evidence), card["text"])
        self.assertFalse([a for a in v["alerts"] if any(f.startswith("bts-silent-384-") for f in a["fingerprints"])],
                         "a silent station of 384 has a card of its own next to BtsStationsDown")
        bts = next(a for a in v["alerts"] if "bts-down-384" in a["fingerprints"])
        self.assertEqual((bts["count"], bts["severity"], bts["district"]), (1, "critical", "384"))
        self.assertEqual(sorted(bts["folded"]), [f"bts-silent-384-{i}" for i in range(3)])
        self.assertIn("+3 stations", bts["text"])
        card = next(a for a in state()["sections"]["alerts"]["active"] if a["fingerprint"] == "bts-down-384")
        self.assertEqual(card["folded_count"], 3)
        self.assertEqual({f["inhibited_by"] for f in card["folded"]}, {"bts-down-384"})
        self.assertIn("CRITICAL", next(d for d in v["districts"] if d["code"] == "384")["text"])
        self.assertEqual([f["stale"] for f in v["feeds"]], [False, False, False], v["feeds"])
        self.assertTrue(all("FRESH" in f["text"] for f in v["feeds"]))
        self.assertGreater(len(v["reports"]), 0)
        self.assertTrue(os.path.getsize(shot) > 50_000)

        # ---- The numbers on the page are the aggregates' numbers. Stop the
        # simulator so they settle, then compare the page, the wall's state
        # and the topic read here.
        self.assertEqual(sim.stop(), 0)
        categories = [x["code"] for x in state()["sections"]["kpis"]["reports"]["by_category"]]

        def page_equals_aggregates():
            v = self.browse(f"{base}/", 1280, 800, timeout=30)
            st = v["state"]
            k = st["sections"]["kpis"]
            # The page shows the state it was sent ...
            page = v["kpis"]
            if page["reports"]["value"] != k["reports"]["total"]:
                return None
            for name, field in (("online_rate", "value"), ("overdue_ratio", "value"), ("processing_p95", "value_ms"),
                                ("water_level", "value_m"), ("stations", "reporting")):
                if not close((page[name]["value"],), (k[name][field],)):
                    return None
            if page["stations"]["total"] != k["stations"]["total"]:
                return None
            # ... and the state is what the topic says.
            want = Aggregates(pb, bootstrap).kpis(st["server_time"], categories)
            got = {
                "reports": (k["reports"]["window"]["start"], k["reports"]["total"],
                            {c["code"]: c["count"] for c in k["reports"]["by_category"]}),
                "online_rate": (k["online_rate"]["window"]["start"], k["online_rate"]["value"]),
                "overdue_ratio": (k["overdue_ratio"]["window"]["start"], k["overdue_ratio"]["value"]),
                "processing_p95": (k["processing_p95"]["value_ms"], k["processing_p95"]["district"]),
                "water_level": (k["water_level"]["value_m"],),
                "stations": (k["stations"]["reporting"], k["stations"]["total"]),
                "targets": {d["code"]: (d["targets"]["online_rate"]["value"], d["targets"]["online_rate"]["meets"],
                                        d["targets"]["overdue_ratio"]["value"], d["targets"]["overdue_ratio"]["meets"])
                            for d in st["sections"]["districts"] if d["targets"]["online_rate"]["value"] is not None},
            }
            expect = {
                "reports": (want["reports"]["window"][0], want["reports"]["total"], want["reports"]["by_category"]),
                "online_rate": (want["online_rate"]["window"][0], want["online_rate"]["value"]),
                "overdue_ratio": (want["overdue_ratio"]["window"][0], want["overdue_ratio"]["value"]),
                "processing_p95": (want["processing_p95"]["value"], want["processing_p95"]["district"]),
                "water_level": (want["water_level"]["value"],),
                "stations": (want["stations"]["reporting"], want["stations"]["total"]),
                "targets": {d: t for d, t in want["targets"].items() if t[0] is not None},
            }
            self.last_compare = (got, expect, page)
            if not all(close(got[k2], expect[k2]) for k2 in got if k2 != "targets"):
                return None
            if got["targets"].keys() != expect["targets"].keys() or not all(
                    close(got["targets"][d], expect["targets"][d]) for d in got["targets"]):
                return None
            # ... and the page shows each district's standing as the state says.
            for d in v["districts"]:
                meets = got["targets"].get(d["code"], (None, None))[1]
                if d["online_meets"] != ("" if meets is None else str(meets).lower()):
                    return None
            return v, got


        self.last_compare = None
        try:
            v, got = wait_until(page_equals_aggregates, 120, "the page's KPIs to equal the aggregates")
        except AssertionError:
            self.fail(f"page / state / topic differ: {json.dumps(self.last_compare, default=str)[:4000]}")
        self.assertGreater(got["reports"][1], 20)
        self.assertGreaterEqual(got["reports"][2]["flood"], 20)
        self.assertGreater(got["stations"][1], 1000)
        self.assertEqual(v["report_categories"].get("flood"), got["reports"][2]["flood"])
        # Every district has transactions (the simulator's): each stands against the targets, on the
        # page too, and a district below target is a status, not an alert.
        self.assertEqual(len(got["targets"]), 27, got["targets"])
        below = {d for d, t in got["targets"].items() if t[1] is False}
        alerting = {a["district"] for a in v["state"]["sections"]["alerts"]["active"]}
        self.assertTrue(below - alerting, "no district below the online target without an alert to check")
        for d in v["districts"]:
            self.assertIn("online", d["text"])
            if d["code"] in below - alerting:
                self.assertEqual(d["status"], "ok", d)

        # ---- A feed that stops turns red (telemetry: stale after 20 s here).
        self.browse(f"{base}/", 1280, 800, timeout=90)  # fits the laptop screen
        shot = os.path.join(ARTIFACTS, "wall-1280x800.png")
        v = self.browse(f"{base}/", 1280, 800, "--stale-feed", "telemetry", screenshot=shot, timeout=120)
        feed = next(f for f in v["feeds"] if f["feed"] == "telemetry")
        self.assertTrue(feed["stale"])
        self.assertIn("STALE", feed["text"])

        m = http("GET", f"{base}/metrics")[2]
        self.assertGreater(metric(m, "ioc_wall_records_total", {"topic": "aggregates", "outcome": "applied"}) or 0, 0)
        self.assertGreaterEqual(metric(m, "ioc_wall_sse_connections_total", {"start": "replay"}) or 0, 1)
        self.assertGreaterEqual(metric(m, "ioc_wall_sse_connections_total", {"start": "snapshot"}) or 0, 2)
        self.assertEqual(metric(m, "ioc_wall_restored"), 1)
        producer.flush(10)
        self.passed()

    def test_a_steady_history_after_the_demos_scenarios_leaves_the_wall_quiet(self):
        """The demo's scenarios (a flood in 380, the BTS of 384 silent, the
        portal down), then two steady hours, then the province live: the
        shipped rules with the demo's overlay raise nothing, the wall shows no
        alert, no PENDING tile and no district in WARNING, while each
        district's standing against the KPI targets is there."""
        os.makedirs(ARTIFACTS, exist_ok=True)
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap)
        # The embedded broker keeps about 5 MB per partition: results spread over 24.
        common = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}",
                  "--set", "topics.partitions.ioc.aggregates.v1=24"]
        rates = ["--set", "sim.stations=162", "--set", "sim.telemetry_per_second=30",
                 "--set", "sim.reports_per_second=1", "--set", "sim.transactions_per_second=10", "--seed", "5"]
        aport = free_port()
        self.system.start("ioc-aggregator", *common, "--set", f"http.listen=127.0.0.1:{aport}").wait_http(
            f"http://127.0.0.1:{aport}/readyz", 60)
        # The demo's scripted sequence (README "Scenarios"), then two steady hours.
        hist = subprocess.run([os.path.join(BIN, "ioc-sim"), *common, "--set", f"http.listen=127.0.0.1:{free_port()}",
                               *rates, "--history", "2h5m", "--scenarios",
                               "flood:380:20s:150s,bts-outage:384:40s:120s,portal-outage::60s:120s"],
                              capture_output=True, text=True, timeout=600)
        self.assertEqual(hist.returncode, 0, hist.stderr[-3000:])

        def caught_up():
            text = http("GET", f"http://127.0.0.1:{aport}/metrics")[2]
            lags = [float(line.split()[-1]) for line in text.splitlines()
                    if line.startswith("ioc_aggregator_consumer_lag{")]
            return lags and max(lags) == 0
        wait_until(caught_up, 180, "the aggregator through the history")
        # The province goes on live.
        iport = free_port()
        self.system.start("ioc-intake", *intake_args(bootstrap, iport)).wait_http(f"http://127.0.0.1:{iport}/readyz")
        self.system.start("ioc-sim", *common, "--set", f"http.listen=127.0.0.1:{free_port()}", *rates,
                          "--set", f"sim.intake=127.0.0.1:{iport}")
        lport = free_port()
        alerter = self.system.start("ioc-alerter", *common, "--set", f"http.listen=127.0.0.1:{lport}",
                                    "--set", f"alerter.state_dir={self.system.workdir}/alerter-state",
                                    "--set", "alerter.rules=rules.yaml,rules-demo.yaml",
                                    "--set", f"alerter.external_url=http://127.0.0.1:{lport}")
        alerter.wait_http(f"http://127.0.0.1:{lport}/readyz", 120)
        wport = free_port()
        wall = self.system.start("ioc-wall", *common, "--set", f"http.listen=127.0.0.1:{wport}")
        base = f"http://127.0.0.1:{wport}"
        wall.wait_http(f"{base}/readyz", 120)
        time.sleep(20)  # evaluations of the live data

        alerts = json.loads(http("GET", f"http://127.0.0.1:{lport}/api/v1/alerts?fold=false")[2])
        self.assertEqual(alerts["count"], 0, json.dumps(alerts)[:3000])
        shot = os.path.join(ARTIFACTS, "wall-steady-1920x1080.png")
        v = self.browse(f"{base}/", 1920, 1080, screenshot=shot, timeout=90)
        self.assertEqual(v["alerts"], [], "no alert card")
        self.assertNotIn("PENDING", json.dumps(v["alerts"]).upper(), "no pending tile")
        self.assertEqual({d["status"] for d in v["districts"]}, {"ok"},
                         [(d["code"], d["status"]) for d in v["districts"]])
        self.assertEqual(len(v["districts"]), 27)
        # The KPI standing is shown for every district (a target miss is not a status).
        self.assertTrue(all(d["online_meets"] in ("true", "false") for d in v["districts"]), v["districts"][:3])
        self.passed()

    def test_restarted_wall_restores_and_counts_malformed_records(self):
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap)
        common = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}"]
        pb = proto_modules(self.system.workdir)
        ae = importlib.import_module("ioc.v1.alert_event_pb2")
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
        now = int(time.time() * 1000)
        self.produce_alert(producer, ae, "kept", ae.AlertEvent.STATE_FIRING, "warning", "384", 1, now - 3_600_000 * 30,
                           rule="bts_silent", summary="an alert firing for 30 hours")
        produce(producer, "ioc.alerts.v1", b"\xff\xff\xff\xff not an alert", key="junk")
        produce(producer, "ioc.aggregates.v1", b"\xff\xff\xff\xff not a result", key="junk")
        # A window result of the reports view, two revisions.
        for rev, n in ((1, 3), (2, 8)):
            r = pb["window_result"].WindowResult(view="reports_15m", revision=rev, count=n)
            r.group.add(name="district", value="386")
            r.group.add(name="category", value="flood")
            start = now - now % 60_000 - 14 * 60_000
            r.window_start.FromMilliseconds(start)
            r.window_end.FromMilliseconds(start + 15 * 60_000)
            r.values.add(name="count", value=n)
            produce(producer, "ioc.aggregates.v1", r.SerializeToString(), key=f"reports_15m|386/flood|{start}")
        producer.flush(10)
        wport = free_port()
        wall = self.system.start("ioc-wall", *common, "--set", f"http.listen=127.0.0.1:{wport}")
        wall.wait_http(f"http://127.0.0.1:{wport}/readyz")
        st = json.loads(http("GET", f"http://127.0.0.1:{wport}/api/v1/state")[2])["sections"]
        self.assertEqual([a["fingerprint"] for a in st["alerts"]["active"]], ["kept"])
        self.assertEqual(st["kpis"]["reports"]["total"], 8)
        self.assertEqual(next(d for d in st["districts"] if d["code"] == "384")["status"], "warning")
        m = http("GET", f"http://127.0.0.1:{wport}/metrics")[2]
        self.assertEqual(metric(m, "ioc_wall_records_total", {"topic": "alerts", "outcome": "malformed"}), 1)
        self.assertEqual(metric(m, "ioc_wall_records_total", {"topic": "aggregates", "outcome": "malformed"}), 1)
        self.assertIn("record not shown on the wall", wall.log())
        # Without a broker the wall says so on /readyz (and still stops cleanly).
        broker = next(x for x in self.system.services if x.name == "ioc-broker")
        self.assertEqual(broker.stop(), 0)
        status, _, body = wait_until(lambda: (lambda r: r[0] == 503 and r)(http("GET", f"http://127.0.0.1:{wport}/readyz")),
                                     60, "the wall unready without its broker")
        self.assertIn("no broker connection", body)
        # tearDown stops the wall (SIGTERM, broker still gone) and checks it exits 0.
        self.passed()


if __name__ == "__main__":
    unittest.main()
