"""ioc-alerter with real processes: ioc-broker, ioc-alerter, the real
Alertmanager (prometheus-alertmanager) with a webhook receiver, and in one
test ioc-aggregator in front. Window results (or reports) are produced by an
independent client (confluent-kafka); what fired and resolved is read back
through Alertmanager's own API and notifications, amtool, ioc.alerts.v1 and
the alerter's API; CAP output is validated by xmllint against the CAP 1.2
schema in deploy/cap."""

import http.server as http_server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

from harness import (CONFIG, SOURCE, BIN, SystemTestCase, free_port, http, metric, produce, proto_modules, read_topic,
                     wait_until)

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"
XSD = os.path.join(SOURCE, "deploy/cap/CAP-v1.2.xsd")

VIEWS = """views:
  reports_5s:
    source: reports
    group_by: [district, category]
    time: ingest
    window: {tumbling: 5s}
    allowed_lateness: 1s
    out_of_orderness: 0s
    idle_timeout: 1s
    emit: {mode: both, interval: 200ms}
    aggregations: [count]
  reports_10m:
    source: reports
    group_by: [district, category]
    window: {tumbling: 10m}
    allowed_lateness: 1m
    emit: {mode: both, interval: 1s}
    aggregations: [count]
  station_5s:
    source: telemetry
    group_by: [district, source_id, kind]
    time: ingest
    window: {tumbling: 5s}
    allowed_lateness: 1s
    out_of_orderness: 0s
    idle_timeout: 1s
    emit: {mode: both, interval: 200ms}
    sample_ids: 0
    aggregations: [count]
"""

RULES = """defaults:
  labels: {team: ioc}
rules:
  - name: FloodReportSurge
    view: %(view)s
    match: {category: [flood, landslide]}
    value: count
    fire: ">= 10"
    clear: "< 3"
    grace: 2s
    severity: critical
    category_from: category
    event: Citizen report surge
    annotations:
      summary: "{{value}} {{category_name}} reports in {{district_name}} (threshold {{threshold}})"
      description: "Reports of {{category}} in {{district}} up to {{window_end}} & counting <fast>"
    scenario: Call the steering committee of {{district_name}}.
  - name: StationSilent
    view: station_5s
    group_by: [district, source_id]
    absent_for: 3s
    severity: warning
    category: infrastructure
    sub_category: telecommunication
    cap_category: Infra
    annotations: {summary: "{{source_id}} in {{district_name}} silent for {{silent_for}}"}
    scenario: Ask the network operator to check {{source_id}}.
"""


class Webhook:
    """Alertmanager's webhook receiver: every notification it sends (any JSON
    POST is kept and answered 200, so it also stands in for Alertmanager)."""

    def __init__(self):
        self.notifications = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http_server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.notifications.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http_server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def alerts(self, status, **labels):
        """Alerts of all notifications with `status` and these labels."""
        with self.lock:
            out = []
            for n in self.notifications:
                for a in n["alerts"]:
                    if a["status"] == status and all(a["labels"].get(k) == v for k, v in labels.items()):
                        out.append(a)
            return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class AlerterTestCase(SystemTestCase):
    def setUp(self):
        super().setUp()
        self.webhook = Webhook()
        self.pb = proto_modules(self.system.workdir)
        import importlib
        self.pb["alert_event"] = importlib.import_module("ioc.v1.alert_event_pb2")
        self.views_file = self.write("views.yaml", VIEWS)
        self.rules_file = self.write("rules.yaml", RULES % {"view": "reports_10m"})
        self.bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(self.bootstrap)
        from confluent_kafka import Producer
        self.producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 1})

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self.webhook.close()

    def write(self, name, text):
        path = os.path.join(self.system.workdir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    # ------------------------------------------------------------ processes

    def start_alertmanager(self, port=None):
        port = port or free_port()
        self.launch_alertmanager(port, ["--cluster.listen-address="])
        wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/-/ready", timeout=2)[0] == 200, 30,
                   "alertmanager ready")
        return port

    def launch_alertmanager(self, port, cluster_args):
        """A real Alertmanager on `port` notifying the webhook; `cluster_args`
        are its --cluster.* flags. Returns the process, not yet ready."""
        config = self.write("alertmanager.yml", f"""route:
  receiver: hook
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:{self.webhook.port}/
        send_resolved: true
""")
        storage = tempfile.mkdtemp(prefix="am-", dir=self.system.workdir)
        return self.system.start_external([ALERTMANAGER, f"--config.file={config}", f"--storage.path={storage}",
                                           f"--web.listen-address=127.0.0.1:{port}", *cluster_args],
                                          f"alertmanager-{port}")

    def start_alerter(self, am_port, port=None, *more):
        port = port or free_port()
        alerter = self.system.start(
            "ioc-alerter", "--config", CONFIG, "--set", f"kafka.bootstrap_servers={self.bootstrap}",
            "--set", f"http.listen=127.0.0.1:{port}", "--set", f"alerter.rules={self.rules_file}",
            "--set", f"alerter.views={self.views_file}",
            "--set", f"alerter.alertmanager.url=http://127.0.0.1:{am_port}",
            "--set", "alerter.alertmanager.resend_interval=2s", "--set", "alerter.alertmanager.backoff_max=1s",
            "--set", "alerter.evaluation_interval=200ms", "--set", "alerter.stats_interval=200ms",
            "--set", "alerter.checkpoint_interval=500ms", "--set", f"alerter.external_url=http://127.0.0.1:{port}",
            *more)
        alerter.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
        return alerter, port

    # ------------------------------------------------------------ inputs and outputs

    def result(self, district, category, start_ms, revision, count, final=False, samples=(), view="reports_10m",
               length_ms=600_000):
        # The aggregator's form: a final sets bit 31 of its revision, above every early one.
        r = self.pb["window_result"].WindowResult(view=view, revision=revision | (1 << 31 if final else 0), final=final,
                                                   count=count)
        r.group.add(name="district", value=district)
        r.group.add(name="category", value=category)
        r.window_start.FromMilliseconds(start_ms)
        r.window_end.FromMilliseconds(start_ms + length_ms)
        r.watermark.FromMilliseconds(int(time.time() * 1000))
        r.values.add(name="count", value=count)
        r.sample_ids.extend(samples)
        key = f"{view}|{district}/{category}|{start_ms}"
        self.deliver(r.SerializeToString(), key.encode())

    def deliver(self, value, key):
        """Produces one record to ioc.aggregates.v1 and waits for the broker's
        acknowledgement, producing again if it failed (a broker restarting)."""
        deadline = time.monotonic() + 30
        while True:
            outcome = []
            produce(self.producer, "ioc.aggregates.v1", value, key, on_delivery=lambda err, msg: outcome.append(err))
            self.producer.flush(10)
            if outcome and outcome[0] is None:
                return
            self.assertLess(time.monotonic(), deadline, f"record not delivered: {outcome}")

    def published(self, rule=None):
        """ioc.alerts.v1 as decoded AlertEvents, in partition order."""
        out = []
        for rec in read_topic(self.bootstrap, "ioc.alerts.v1"):
            e = self.pb["alert_event"].AlertEvent()
            e.ParseFromString(rec["value"])
            self.assertEqual(rec["key"].decode(), e.fingerprint)
            if rule is None or e.rule == rule:
                out.append(e)
        return out

    @staticmethod
    def am_alerts(am_port, **labels):
        status, _, body = http("GET", f"http://127.0.0.1:{am_port}/api/v2/alerts", timeout=5)
        assert status == 200, body
        return [a for a in json.loads(body) if all(a["labels"].get(k) == v for k, v in labels.items())]

    @staticmethod
    def metrics(port):
        return http("GET", f"http://127.0.0.1:{port}/metrics", timeout=5)[2]

    def xmllint(self, xml):
        path = self.write(f"cap-{time.monotonic_ns()}.xml", xml)
        p = subprocess.run(["xmllint", "--noout", "--schema", XSD, path], capture_output=True, text=True)
        return p.returncode, p.stderr

    @staticmethod
    def window_start():
        """A window around now, long enough not to end during a test (when it
        ends with no successor, its alerts resolve by themselves)."""
        return int(time.time() * 1000) - 5000


class AlertLifecycleTest(AlerterTestCase):
    def test_a_surge_fires_in_alertmanager_and_resolves(self):
        am = self.start_alertmanager()
        alerter, port = self.start_alerter(am)
        w = self.window_start()
        self.result("380", "flood", w, 1, 5, samples=["r-1"])
        self.result("381", "fire", w, 1, 50)       # not a rule's category
        self.result("382", "flood", w, 1, 9)       # under the threshold
        self.result("380", "flood", w, 2, 12, samples=["r-1", "r-2", "r-3"])  # an early revision crosses it

        firing = wait_until(lambda: self.am_alerts(am, alertname="FloodReportSurge"), 30, "the alert in Alertmanager")
        self.assertEqual(len(firing), 1, firing)
        a = firing[0]
        self.assertEqual({k: a["labels"][k] for k in ("alertname", "severity", "district", "category", "team")},
                         {"alertname": "FloodReportSurge", "severity": "critical", "district": "380",
                          "category": "flood", "team": "ioc"})
        self.assertEqual(a["annotations"]["summary"], "12 Ngập lụt reports in Thành phố Thanh Hóa (threshold 10)")
        self.assertEqual(a["annotations"]["scenario"], "Call the steering committee of Thành phố Thanh Hóa.")
        self.assertTrue(a["generatorURL"].startswith(f"http://127.0.0.1:{port}/api/v1/alerts/"), a["generatorURL"])
        self.assertEqual(a["status"]["state"], "active")
        # amtool, Alertmanager's own client, sees the same.
        q = subprocess.run([AMTOOL, f"--alertmanager.url=http://127.0.0.1:{am}", "alert", "query", "-o", "json",
                            "alertname=FloodReportSurge"], capture_output=True, text=True, timeout=30)
        self.assertEqual(q.returncode, 0, q.stderr)
        self.assertEqual([x["labels"]["district"] for x in json.loads(q.stdout)], ["380"])
        wait_until(lambda: self.webhook.alerts("firing", alertname="FloodReportSurge", district="380"), 30,
                   "Alertmanager's firing notification")

        # The alerter's own view, and its CAP, valid against the CAP 1.2 schema.
        body = json.loads(http("GET", f"http://127.0.0.1:{port}/api/v1/alerts")[2])
        self.assertEqual([x["group"] for x in body["alerts"]], [{"district": "380", "category": "flood"}])
        alert = body["alerts"][0]
        self.assertEqual(alert["state"], "firing")
        self.assertEqual(alert["sample_ids"], ["r-1", "r-2", "r-3"])
        self.assertEqual((alert["category"], alert["sub_category"]), ("naturalDisaster", "flood"))
        status, headers, cap = http("GET", f"http://127.0.0.1:{port}{alert['cap']}")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/cap+xml")
        rc, err = self.xmllint(cap)
        self.assertEqual(rc, 0, err)
        self.assertIn("<msgType>Alert</msgType>", cap)
        self.assertIn("<areaDesc>Thành phố Thanh Hóa</areaDesc>", cap)
        self.assertIn("&amp; counting &lt;fast&gt;", cap)
        # The schema is not a rubber stamp: a "Z" time and an unknown msgType are refused.
        self.assertNotEqual(self.xmllint(cap.replace("-00:00</sent>", "Z</sent>"))[0], 0)
        self.assertNotEqual(self.xmllint(cap.replace("<msgType>Alert<", "<msgType>Warning<"))[0], 0)

        # A lower revision arriving late changes nothing; a higher one below the clear threshold resolves.
        self.result("380", "flood", w, 1, 2)
        wait_until(lambda: metric(self.metrics(port), "ioc_alerter_results_total", {"outcome": "stale"}), 30,
                   "the late revision read")
        self.assertEqual([e.state for e in self.published("FloodReportSurge")],
                         [self.pb["alert_event"].AlertEvent.STATE_FIRING])
        self.result("380", "flood", w, 3, 2, final=True)
        wait_until(lambda: self.webhook.alerts("resolved", alertname="FloodReportSurge", district="380"), 30,
                   "Alertmanager's resolved notification")
        self.assertEqual(self.am_alerts(am, alertname="FloodReportSurge"), [])
        events = self.published("FloodReportSurge")
        AE = self.pb["alert_event"].AlertEvent
        self.assertEqual([(e.state, e.revision) for e in events], [(AE.STATE_FIRING, 1), (AE.STATE_RESOLVED, 2)])
        self.assertEqual(events[0].id, events[1].id)
        self.assertEqual(list(events[0].sample_ids), ["r-1", "r-2", "r-3"])
        self.assertEqual(events[0].category, "naturalDisaster")
        cap = http("GET", f"http://127.0.0.1:{port}/api/v1/alerts/{events[1].id}.cap")[2]
        self.assertIn("<msgType>Cancel</msgType>", cap)
        rc, err = self.xmllint(cap)
        self.assertEqual(rc, 0, err)

        # A malformed record is counted and dead-lettered with the reason, and the alerter carries on.
        produce(self.producer, "ioc.aggregates.v1", b"\xff\x00 not a window result", b"junk")
        self.producer.flush(10)
        dead = wait_until(lambda: [d for d in read_topic(self.bootstrap, "ioc.deadletter.v1")
                                   if d["headers"].get("ioc.service") == "ioc-alerter"], 30, "a dead letter")
        self.assertTrue(dead[0]["headers"]["ioc.error"].startswith("invalid record:"), dead[0]["headers"])
        self.assertEqual(dead[0]["headers"]["ioc.source.topic"], "ioc.aggregates.v1")
        text = self.metrics(port)
        self.assertEqual(metric(text, "ioc_alerter_results_total", {"outcome": "invalid"}), 1)
        self.assertGreaterEqual(metric(text, "ioc_alerter_results_total", {"outcome": "stale"}), 1)
        self.assertGreater(metric(text, "ioc_alerter_rule_evaluations_total"), 0)
        self.assertGreater(metric(text, "ioc_alerter_evaluation_duration_seconds_count", {"pass": "all"}), 0)
        self.assertGreaterEqual(metric(text, "ioc_alerter_notifications_total", {"outcome": "sent"}), 2)
        self.assertEqual(metric(text, "ioc_alerter_delivery_queue_depth"), 0)
        self.assertEqual(metric(text, "ioc_alerter_alerts", {"state": "firing", "severity": "critical"}), 0)
        self.passed()

    def test_an_episode_is_one_cap_sequence_in_the_feed_and_the_history(self):
        am = self.start_alertmanager()
        alerter, port = self.start_alerter(am, None, "--set", "alerter.update_interval=1s")
        base = f"http://127.0.0.1:{port}"
        w = self.window_start()
        self.result("380", "flood", w, 1, 12)
        alert = wait_until(lambda: json.loads(http("GET", f"{base}/api/v1/alerts")[2])["alerts"], 30, "the alert")[0]
        self.assertEqual(alert["cap_messages"], [f"/api/v1/alerts/{alert['id']}/cap/1"])
        self.result("380", "flood", w, 2, 30)  # far past the last message's 12: an Update
        urls = wait_until(lambda: (lambda a: len(a[0]["cap_messages"]) == 2 and a[0]["cap_messages"])(
            json.loads(http("GET", f"{base}/api/v1/alerts")[2])["alerts"]), 30, "the CAP Update")
        self.result("380", "flood", w, 3, 31)  # 1 more is not material
        self.result("380", "flood", w, 4, 1, final=True)
        wait_until(lambda: json.loads(http("GET", f"{base}/api/v1/alerts")[2])["count"] == 0, 30, "the resolution")
        episode = json.loads(http("GET", f"{base}/api/v1/alerts/{alert['id']}")[2])
        urls = episode["cap_messages"]
        self.assertEqual(len(urls), 3, urls)
        caps = [http("GET", base + u) for u in urls]
        self.assertEqual([c[0] for c in caps], [200, 200, 200])
        for status, headers, xml in caps:
            self.assertEqual(headers["Content-Type"], "application/cap+xml")
            rc, err = self.xmllint(xml)
            self.assertEqual(rc, 0, err + xml)
        alert_xml, update_xml, cancel_xml = (c[2] for c in caps)
        self.assertIn("<msgType>Alert</msgType>", alert_xml)
        self.assertNotIn("<references>", alert_xml)
        self.assertIn("<msgType>Update</msgType>", update_xml)
        self.assertIn("<references>ioc-alerter@ioc.local,ioc-" + alert["id"] + "-1,", update_xml)
        self.assertIn("<headline>30 Ngập lụt reports", update_xml)
        self.assertIn("<msgType>Cancel</msgType>", cancel_xml)
        self.assertIn(f"ioc-{alert['id']}-2,", cancel_xml)
        self.assertIn("<headline>Ended: ", cancel_xml)
        self.assertNotIn("<instruction>", cancel_xml)
        self.assertIn("<expires>", cancel_xml)
        self.assertEqual(http("GET", f"{base}/api/v1/alerts/{alert['id']}.cap")[2], cancel_xml)  # the latest
        self.assertEqual(http("GET", f"{base}/api/v1/alerts/{alert['id']}/cap/9")[0], 404)

        # The Atom feed: well-formed, one entry linking the latest message.
        status, headers, feed = http("GET", f"{base}/api/v1/cap.atom")
        self.assertEqual((status, headers["Content-Type"]), (200, "application/atom+xml"))
        ns = {"a": "http://www.w3.org/2005/Atom"}
        root = ET.fromstring(feed.encode())
        entries = root.findall("a:entry", ns)
        self.assertEqual(len(entries), 1, feed)
        link = entries[0].find("a:link", ns)
        self.assertEqual((link.get("rel"), link.get("type"), link.get("href")),
                         ("alternate", "application/cap+xml", base + urls[2]))
        self.assertEqual(entries[0].find("a:id", ns).text, base + urls[2])

        # The history, by day and by time; bad bounds are 400s naming the field.
        today = time.strftime("%Y-%m-%d", time.gmtime())
        body = json.loads(http("GET", f"{base}/api/v1/episodes?from={today}&to={today}&district=380")[2])
        self.assertEqual([e["id"] for e in body["episodes"]], [alert["id"]])
        e = body["episodes"][0]
        self.assertEqual((e["rule"], e["cap_messages"]), ("FloodReportSurge", urls))
        self.assertIn(e["peak_value"], (30, 31))
        self.assertIsNotNone(e["ended"])
        self.assertEqual(json.loads(http("GET", f"{base}/api/v1/episodes?rule=Other")[2])["count"], 0)
        status, _, err = http("GET", f"{base}/api/v1/episodes?from=2024-13-01")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(err)["errors"][0]["field"], "from")
        # It survives a restart.
        alerter.stop()
        alerter2, port2 = self.start_alerter(am)
        body = json.loads(http("GET", f"http://127.0.0.1:{port2}/api/v1/episodes?from={today}")[2])
        self.assertEqual([e["id"] for e in body["episodes"]], [alert["id"]])
        self.passed()

    def test_kill_9_while_firing_neither_renotifies_nor_loses_the_resolution(self):
        am = self.start_alertmanager()
        alerter, port = self.start_alerter(am)
        w = self.window_start()
        self.result("380", "flood", w, 1, 15)
        AE = self.pb["alert_event"].AlertEvent
        wait_until(lambda: self.am_alerts(am, alertname="FloodReportSurge"), 30, "the alert in Alertmanager")
        wait_until(lambda: [e for e in self.published("FloodReportSurge") if e.state == AE.STATE_FIRING], 30,
                   "the firing event")
        # More of the same while it fires, then the process dies without a goodbye.
        for rev in range(2, 12):
            self.result("380", "flood", w, rev, 15 + rev)
        alerter.kill9()

        alerter2, port2 = self.start_alerter(am)
        self.assertIn("checkpoint restored", wait_until(lambda: "checkpoint restored" in alerter2.log() and
                                                        alerter2.log(), 30, "the checkpoint restored"))
        body = wait_until(lambda: json.loads(http("GET", f"http://127.0.0.1:{port2}/api/v1/alerts")[2])["alerts"], 30,
                          "the firing alert after the restart")
        self.assertEqual(body[0]["state"], "firing")
        wait_until(lambda: "caught up" in alerter2.log(), 30, "the restarted alerter through its backlog")
        self.result("380", "flood", w, 20, 1, final=True)  # the surge is over
        wait_until(lambda: self.webhook.alerts("resolved", alertname="FloodReportSurge", district="380"), 30,
                   "the resolution after the restart")
        events = [(e.state, e.revision, e.id) for e in self.published("FloodReportSurge")]
        firing = [e for e in events if e[0] == AE.STATE_FIRING]
        self.assertEqual(len(firing), 1, events)  # notified once, before the kill
        self.assertEqual(events[-1][:2], (AE.STATE_RESOLVED, 2), events)
        self.assertEqual(events[-1][2], firing[0][2])  # the same episode
        self.assertEqual(len(self.webhook.alerts("resolved", alertname="FloodReportSurge")), 1)
        self.assertEqual(self.am_alerts(am, alertname="FloodReportSurge"), [])
        self.passed()

    def test_alerts_reach_alertmanager_once_it_is_back(self):
        am_port = free_port()  # nothing listens there yet
        alerter, port = self.start_alerter(am_port)
        w = self.window_start()
        self.result("380", "flood", w, 1, 30)
        self.result("384", "landslide", w, 1, 11)
        AE = self.pb["alert_event"].AlertEvent
        wait_until(lambda: len([e for e in self.published("FloodReportSurge") if e.state == AE.STATE_FIRING]) == 2, 30,
                   "both alerts firing")
        self.result("384", "landslide", w, 2, 1, final=True)  # resolves while Alertmanager is away
        wait_until(lambda: [e for e in self.published("FloodReportSurge") if e.state == AE.STATE_RESOLVED], 30,
                   "384 resolved")

        def failing():
            text = self.metrics(port)
            failed = metric(text, "ioc_alerter_notifications_total", {"outcome": "failed"}) or 0
            return failed > 0 and metric(text, "ioc_alerter_delivery_queue_depth") == 2 and text
        text = wait_until(failing, 30, "failed deliveries with both alerts queued")
        self.assertEqual(metric(text, "ioc_alerter_alertmanager_up"), 0)
        ready = json.loads(http("GET", f"http://127.0.0.1:{port}/readyz")[2])
        self.assertEqual(ready["delivery_queue"], 2, ready)

        self.start_alertmanager(am_port)
        firing = wait_until(lambda: self.am_alerts(am_port, alertname="FloodReportSurge"), 60,
                            "the alert once Alertmanager is back")
        self.assertEqual([a["labels"]["district"] for a in firing], ["380"])
        # The resolution was not dropped: Alertmanager got 384 as already resolved, so it never shows as active.
        wait_until(lambda: metric(self.metrics(port), "ioc_alerter_delivery_queue_depth") == 0, 30, "an empty queue")
        self.assertEqual(self.am_alerts(am_port, district="384"), [])
        text = self.metrics(port)
        self.assertEqual(metric(text, "ioc_alerter_alertmanager_up"), 1)
        self.assertGreaterEqual(metric(text, "ioc_alerter_notifications_total", {"outcome": "sent"}), 2)
        self.passed()

    def test_a_broker_restart_neither_resurrects_nor_loses_alerts(self):
        # The embedded broker keeps nothing across a restart: not the window
        # results, not ioc.alerts.v1, not the aggregator's revisions.
        am = self.start_alertmanager()
        alerter, port = self.start_alerter(am)
        w = self.window_start()
        AE = self.pb["alert_event"].AlertEvent
        self.result("380", "flood", w, 5, 15)
        self.result("384", "landslide", w, 5, 12)
        wait_until(lambda: len([e for e in self.published("FloodReportSurge") if e.state == AE.STATE_FIRING]) == 2, 30,
                   "both alerts firing")
        self.result("384", "landslide", w, 6, 1, final=True)
        wait_until(lambda: self.webhook.alerts("resolved", alertname="FloodReportSurge", district="384"), 30,
                   "384 resolved")
        broker = next(x for x in self.system.services if x.name == "ioc-broker")
        self.assertEqual(broker.stop(), 0)
        # Not consuming: /readyz says so, with the reason.
        status, _, body = wait_until(lambda: (lambda r: r if r[0] == 503 else None)(
            http("GET", f"http://127.0.0.1:{port}/readyz")), 30, "the alerter unready without a broker")
        self.assertIn("no broker connection", json.loads(body)["reason"])
        self.start_broker(self.bootstrap)
        wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/readyz")[0] == 200, 60, "the alerter ready again")
        # Produced at once: a record written into the new log below the
        # alerter's old position must not be skipped (the alerter sees the
        # new cluster id and reads every partition again from its start).
        # The aggregator, starting over, counts 380's window anew: revision 1.
        self.result("380", "flood", w, 1, 16)
        events = wait_until(lambda: self.published("FloodReportSurge"), 60, "the active alert published again")
        self.assertEqual([(e.group[0].value, e.state) for e in events], [("380", AE.STATE_FIRING)])
        self.result("380", "flood", w, 2, 1, final=True)
        wait_until(lambda: self.webhook.alerts("resolved", alertname="FloodReportSurge", district="380"), 60,
                   "380 resolved after the broker restart")
        events = self.published("FloodReportSurge")
        self.assertEqual([(e.group[0].value, e.state) for e in events],
                         [("380", AE.STATE_FIRING), ("380", AE.STATE_RESOLVED)])  # 384 not resurrected
        self.assertEqual(self.am_alerts(am, alertname="FloodReportSurge"), [])
        self.assertEqual(len(self.webhook.alerts("firing", alertname="FloodReportSurge", district="384")), 1)
        self.passed()

    def test_a_silent_station_fires_and_resolves_when_heard_again(self):
        am = self.start_alertmanager()
        alerter, port = self.start_alerter(am)

        def heartbeat(station, start_ms, revision, count):
            r = self.pb["window_result"].WindowResult(view="station_5s", revision=revision, count=count)
            for name, value in (("district", "384"), ("source_id", station), ("kind", "bts_heartbeat")):
                r.group.add(name=name, value=value)
            r.window_start.FromMilliseconds(start_ms)
            r.window_end.FromMilliseconds(start_ms + 5000)
            r.watermark.FromMilliseconds(int(time.time() * 1000))
            r.values.add(name="count", value=count)
            self.deliver(r.SerializeToString(), f"station_5s|{station}".encode())

        start = int(time.time() * 1000)
        heartbeat("bts-384-0001", start, 1, 1)
        heartbeat("bts-384-0002", start, 1, 1)
        # bts-0002 keeps talking; bts-0001 goes quiet.
        deadline = time.monotonic() + 30
        rev = 1
        while not self.am_alerts(am, alertname="StationSilent") and time.monotonic() < deadline:
            rev += 1
            heartbeat("bts-384-0002", start, rev, rev)
            time.sleep(0.3)
        silent = self.am_alerts(am, alertname="StationSilent")
        self.assertEqual([a["labels"]["source_id"] for a in silent], ["bts-384-0001"])
        self.assertEqual(silent[0]["labels"]["severity"], "warning")
        heartbeat("bts-384-0001", start, 2, 2)
        wait_until(lambda: self.webhook.alerts("resolved", alertname="StationSilent", source_id="bts-384-0001"), 30,
                   "the station heard again")
        self.passed()


class AlerterChainTest(AlerterTestCase):
    """broker -> aggregator (views from a file) -> alerter -> Alertmanager, with
    citizen reports produced by an independent client."""

    def test_a_report_surge_through_the_aggregator_fires_and_resolves(self):
        self.rules_file = self.write("rules.yaml", RULES % {"view": "reports_5s"})
        am = self.start_alertmanager()
        agg_port = free_port()
        aggregator = self.system.start("ioc-aggregator", "--config", CONFIG, "--set",
                                       f"kafka.bootstrap_servers={self.bootstrap}", "--set",
                                       f"http.listen=127.0.0.1:{agg_port}", "--set",
                                       f"aggregator.views={self.views_file}", "--set",
                                       "aggregator.checkpoint_interval=500ms")
        aggregator.wait_http(f"http://127.0.0.1:{agg_port}/readyz", timeout=60)
        alerter, port = self.start_alerter(am)

        def report(i, district, category):
            r = self.pb["report"].Report(id=f"it-{i}", district=district, category=category, source="api")
            now = int(time.time() * 1000)
            r.occurred_at.FromMilliseconds(now - 500)
            r.received_at.FromMilliseconds(now)
            produce(self.producer, "ioc.reports.v1", r.SerializeToString(), district.encode())

        # A steady trickle elsewhere, and a surge of flood reports in 380, all
        # inside one 5 s window of ingest time (not straddling its end).
        while not 500 <= int(time.time() * 1000) % 5000 <= 3500:
            time.sleep(0.05)
        for i in range(12):
            report(i, "380", "flood")
            report(100 + i, "385", "traffic_accident")
        self.producer.flush(10)
        firing = wait_until(lambda: self.am_alerts(am, alertname="FloodReportSurge"), 60,
                            "the surge alert in Alertmanager")
        self.assertEqual([(a["labels"]["district"], a["labels"]["category"]) for a in firing], [("380", "flood")])
        self.assertGreaterEqual(int(firing[0]["annotations"]["summary"].split()[0]), 10)
        events = wait_until(lambda: self.published("FloodReportSurge"), 30, "the firing event")
        self.assertTrue(set(events[0].sample_ids) <= {f"it-{i}" for i in range(12)}, events[0].sample_ids)
        self.assertGreater(len(events[0].sample_ids), 0)
        # The surge is over: its 5 s window ends and nothing follows it.
        wait_until(lambda: self.webhook.alerts("resolved", alertname="FloodReportSurge", district="380"), 60,
                   "the resolution")
        AE = self.pb["alert_event"].AlertEvent
        self.assertEqual([e.state for e in self.published("FloodReportSurge")], [AE.STATE_FIRING, AE.STATE_RESOLVED])
        self.passed()


class AlerterToolsTest(unittest.TestCase):
    def test_shipped_configuration_checks(self):
        p = subprocess.run([AMTOOL, "check-config", os.path.join(SOURCE, "deploy/alertmanager/alertmanager.yml")],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("SUCCESS", p.stdout)
        alerter = os.path.join(BIN, "ioc-alerter")
        p = subprocess.run([alerter, "--check", os.path.join(SOURCE, "deploy/config/rules.yaml"),
                            os.path.join(SOURCE, "deploy/config/rules-demo.yaml")], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("rules OK", p.stdout)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("rules:\n  - name: X\n    view: reports_15m\n    value: count\n    fire: '=> 20'\n"
                    "    category: c\n    annotations: {summary: s}\n    scenario: y\n")
        try:
            p = subprocess.run([alerter, "--check", f.name], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2)
            self.assertIn(f"{f.name}:5:11: rules[0] (X).fire: must be a comparison like '>= 20'", p.stderr)
        finally:
            os.unlink(f.name)

    def test_rule_inhibitions_are_alertmanagers_inhibit_rules(self):
        # The API and the wall fold alerts by the rules' `inhibits:`, and the
        # alerter holds an inhibiting alert's resolution back by them;
        # Alertmanager mutes notifications by its inhibit_rules. One
        # incident must look the same in both.
        import re
        import yaml

        def alertnames(matchers):
            self.assertEqual(len(matchers), 1, matchers)
            m = re.fullmatch(r'alertname(=~?)"([^"]*)"', matchers[0])
            self.assertIsNotNone(m, matchers[0])
            return frozenset(m.group(2).split("|")) if m.group(1) == "=~" else frozenset([m.group(2)])

        with open(os.path.join(SOURCE, "deploy/alertmanager/alertmanager.yml")) as f:
            am = {(next(iter(alertnames(r["source_matchers"]))), alertnames(r["target_matchers"]),
                   frozenset(r.get("equal", []))) for r in yaml.safe_load(f)["inhibit_rules"]}
        self.assertTrue(am)

        def inhibitions(*files):
            rules = {}
            for name in files:
                with open(os.path.join(SOURCE, "deploy/config", name)) as f:
                    rules.update({r["name"]: r for r in yaml.safe_load(f)["rules"]})  # an overlay replaces
            return {(name, frozenset(i["rules"]), frozenset(i.get("equal", [])))
                    for name, r in rules.items() for i in r.get("inhibits", [])}

        self.assertEqual(inhibitions("rules.yaml"), am)
        self.assertEqual(inhibitions("rules.yaml", "rules-demo.yaml"), am, "the demo's overlay drops an inhibition")

    def test_readme_check_example_runs_as_written(self):
        import re
        with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
            # The runnable examples (the runbook's, on an installed host, are not).
            blocks = [b for b in re.findall(r"```sh\n(.*?)```", f.read(), re.S) if "./build/bin/ioc-alerter --check" in b]
        self.assertTrue(blocks)
        for block in blocks:
            script = "set -eo pipefail\n" + block.replace("./build/bin/", BIN + "/")
            p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=SOURCE, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("10 rules OK against", p.stdout)


if __name__ == "__main__":
    unittest.main()
