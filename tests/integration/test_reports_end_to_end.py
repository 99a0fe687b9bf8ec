"""Reports end to end: HTTP -> ioc-intake -> Kafka -> ioc-aggregator (event-time
windows) -> ioc.aggregates.v1 and /metrics -> the real Prometheus.

A known set of reports, deliberately out of order, plus bad requests; every
window count is checked exactly with an independent Kafka client, the
metrics through Prometheus' HTTP API, and each /metrics with promtool."""

import json
import os
import subprocess
import time
import unittest
import urllib.parse

from harness import (CONFIG, DISTRICTS, VIEW, SystemTestCase, report_view, free_port, http, metric, proto_modules, read_topic,
                     rfc3339, wait_until)

class ReportsEndToEndTest(SystemTestCase):
    def test_reports_flow_to_windows_kafka_and_prometheus(self):
        s = self.system
        bootstrap = f"127.0.0.1:{free_port()}"
        ports = {name: free_port() for name in ("intake", "aggregator", "prometheus")}
        common = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}"]
        _, ports["broker"] = self.start_broker(bootstrap)
        intake = s.start("ioc-intake", *common, "--set", f"http.listen=127.0.0.1:{ports['intake']}")
        # Watermarks move only with event time here (idle advance off), so the
        # test decides exactly when windows close.
        aggregator = s.start("ioc-aggregator", *common, "--set", f"http.listen=127.0.0.1:{ports['aggregator']}",
                             *report_view(lateness="5m", ooo="5s", idle="0s"),
                             "--set", "aggregator.checkpoint_interval=500ms")
        intake_url = f"http://127.0.0.1:{ports['intake']}"
        intake.wait_http(intake_url + "/readyz")
        aggregator.wait_http(f"http://127.0.0.1:{ports['aggregator']}/healthz")

        now = time.time()
        base = (int(now) // 60) * 60 - 600  # a minute boundary, 10 minutes ago

        def post(district, category, t, **extra):
            body = {"category": category, "district": district, "occurred_at": rfc3339(t),
                    "description": "kiểm thử", "location": {"lat": 19.8, "lon": 105.78}, **extra}
            return http("POST", intake_url + "/api/v1/reports", json.dumps(body))

        # Windows W0=[base, base+60), W1, W2; sent W2 first, then W0 and W1
        # (two minutes out of order: within the 5 minutes of allowed lateness).
        reports = [("380", "flood", base + 125), ("380", "flood", base + 170), ("381", "fire", base + 150),
                   ("380", "flood", base + 5), ("380", "flood", base + 59.999), ("381", "fire", base + 30),
                   ("381", "fire", base + 31), ("395", "flood", base + 10),
                   ("380", "flood", base + 60), ("407", "traffic_accident", base + 61),
                   ("407", "traffic_accident", base + 62), ("407", "traffic_accident", base + 90),
                   ("407", "traffic_accident", base + 119.999)]
        expected = {(0, "380", "flood"): 2, (0, "381", "fire"): 2, (0, "395", "flood"): 1,
                    (1, "380", "flood"): 1, (1, "407", "traffic_accident"): 4,
                    (2, "380", "flood"): 2, (2, "381", "fire"): 1}
        ids = set()
        for d, c, t in reports:
            status, _, body = post(d, c, t)
            self.assertEqual(status, 202, body)
            reply = json.loads(body)
            self.assertEqual(reply["status"], "accepted")
            ids.add(reply["id"])
        self.assertEqual(len(ids), len(reports))

        # Bad requests: precise errors, and the service keeps serving.
        status, _, body = http("POST", intake_url + "/api/v1/reports", '{"category": "flood",')
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["error"], "invalid_json")
        status, _, body = post("999", "flood", now - 10)
        self.assertEqual((status, json.loads(body)["errors"][0]["field"]), (422, "district"))
        status, _, body = post("380", "flood", now + 3600)
        self.assertEqual(status, 422)
        self.assertIn("in the future", json.loads(body)["errors"][0]["reason"])
        status, _, body = post("380", "flood", now - 10, colour="red", location={"lat": 95, "lon": 105})
        self.assertEqual(status, 422)
        self.assertEqual(sorted(e["field"] for e in json.loads(body)["errors"]), ["colour", "location.lat"])
        status, _, body = http("POST", intake_url + "/api/v1/reports", "{}", content_type="text/plain")
        self.assertEqual(status, 415)
        status, _, body = http("POST", intake_url + "/api/v1/reports", "x" * (100 * 1024))
        self.assertEqual(status, 413)
        status, _, body = http("GET", intake_url + "/api/v1/reports")
        self.assertEqual(status, 405)

        # One report per district now moves every partition's watermark past
        # W2's end + lateness; those windows are still open, so exactly the
        # seven expected windows are final.
        districts = DISTRICTS
        for d in districts:
            self.assertEqual(post(d, "other", time.time())[0], 202)
        bootstrap_read = bootstrap
        workdir = s.workdir
        pb = proto_modules(workdir)

        def finals():
            latest = {}
            for rec in read_topic(bootstrap_read, "ioc.aggregates.v1"):
                r = pb["window_result"].WindowResult()
                r.ParseFromString(rec["value"])
                key = rec["key"].decode()
                group = "/".join(l.value for l in r.group)
                self.assertEqual(key, f"{r.view}|{group}|{r.window_start.seconds * 1000 + r.window_start.nanos // 1000000}")
                if key not in latest or r.revision >= latest[key].revision:
                    latest[key] = r
            return {k: r for k, r in latest.items() if r.final}
        got = wait_until(lambda: (lambda f: f if len(f) >= len(expected) else None)(finals()), 60,
                         "seven final windows on ioc.aggregates.v1")
        want = {f"{VIEW}|{d}/{c}|{(base + 60 * w) * 1000}": n for (w, d, c), n in expected.items()}
        self.assertEqual({k: r.count for k, r in got.items()}, want)
        for r in got.values():
            self.assertEqual(r.window_end.seconds - r.window_start.seconds, 60)
            self.assertEqual(len(r.sample_ids), min(r.count, 5))
            self.assertTrue(set(r.sample_ids) <= ids)

        # A report for a window that is already final: accepted by intake,
        # counted as late by the aggregator and dead-lettered with the reason.
        self.assertEqual(post("380", "flood", base + 20)[0], 202)
        subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", "ioc.reports.v1", "-k", "380"],
                       input=b"not a protobuf report", check=True, timeout=30)
        agg_metrics = f"http://127.0.0.1:{ports['aggregator']}/metrics"
        wait_until(lambda: metric(http("GET", agg_metrics)[2], "ioc_aggregator_events_total",
                                  {"outcome": "invalid"}) == 1, 30, "late and invalid records counted")
        text = http("GET", agg_metrics)[2]
        self.assertEqual(metric(text, "ioc_aggregator_events_total", {"outcome": "late"}), 1)
        self.assertEqual(metric(text, "ioc_aggregator_events_total", {"outcome": "accepted"}),
                         len(reports) + len(districts))
        dead = wait_until(lambda: (lambda d: d if len(d) == 2 else None)(read_topic(bootstrap, "ioc.deadletter.v1")),
                          30, "two dead letters")
        reasons = sorted(d["headers"]["ioc.error"] for d in dead)
        self.assertTrue(reasons[0].startswith("invalid record: not a valid ioc.v1.Report"), reasons[0])
        self.assertTrue(reasons[1].startswith(f"late for {VIEW} ("), reasons[1])
        for d in dead:
            self.assertEqual(d["headers"]["ioc.source.topic"], "ioc.reports.v1")
            self.assertIn("ioc.source.offset", d["headers"])
        # The latest closed window per group, as gauges.
        self.assertEqual(metric(text, "ioc_view_value", {"district": "380", "category": "flood"}), 2)
        self.assertEqual(metric(text, "ioc_view_value", {"district": "381", "category": "fire"}), 1)

        # The real Prometheus scrapes intake, aggregator and broker.
        prom_dir = os.path.join(workdir, "prometheus")
        os.makedirs(prom_dir)
        with open(os.path.join(workdir, "prometheus.yml"), "w") as f:
            f.write("global: {scrape_interval: 1s}\nscrape_configs:\n")
            for job in ("intake", "aggregator", "broker"):
                f.write(f"  - job_name: {job}\n    static_configs: [{{targets: ['127.0.0.1:{ports[job]}']}}]\n")
        subprocess.run(["promtool", "check", "config", os.path.join(workdir, "prometheus.yml")], check=True,
                       capture_output=True)
        s.start_external(["prometheus", f"--config.file={workdir}/prometheus.yml", f"--storage.tsdb.path={prom_dir}",
                          f"--web.listen-address=127.0.0.1:{ports['prometheus']}"], "prometheus")

        def query(expr):
            url = f"http://127.0.0.1:{ports['prometheus']}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
            status, _, body = http("GET", url, timeout=5)
            result = json.loads(body)["data"]["result"] if status == 200 else []
            return float(result[0]["value"][1]) if result else None

        accepted = len(reports) + len(districts) + 1
        checks = {
            'ioc_intake_reports_total{outcome="accepted"}': accepted,
            'ioc_intake_reports_total{outcome="invalid"}': 5,  # 413 and 405 never reach the handler
            'sum(ioc_http_requests_total{job="intake",route="reports",code="422"})': 3,
            'sum(ioc_http_requests_total{job="intake",code="413"})': 1,
            'sum(ioc_http_requests_total{job="intake",route="reports",code="202"})': accepted,
            'ioc_aggregator_events_total{outcome="late"}': 1,
            'ioc_aggregator_events_total{outcome="invalid"}': 1,
            'ioc_view_value{district="380",category="flood",value="count"}': 2,
            'sum(ioc_broker_log_end_offset{topic="ioc.reports.v1"})': accepted + 1,
            'ioc_intake_broker_connected': 1,
            'histogram_quantile(1, sum by (le) (ioc_http_request_duration_seconds_bucket{route="reports"})) > 0': None,
        }
        for expr, value in checks.items():
            if value is None:
                wait_until(lambda: query(expr) is not None, 60, expr)
            else:
                wait_until(lambda: query(expr) == value, 60, f"{expr} == {value} in Prometheus")

        # Every /metrics passes promtool's checks.
        for job in ("intake", "aggregator", "broker"):
            body = http("GET", f"http://127.0.0.1:{ports[job]}/metrics")[2]
            check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True)
            self.assertEqual(check.returncode, 0, f"{job}: {check.stdout}{check.stderr}")
        self.passed()


if __name__ == "__main__":
    unittest.main()
