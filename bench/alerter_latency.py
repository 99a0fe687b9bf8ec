#!/usr/bin/python3
"""Latency of ioc-alerter from a window result to Alertmanager: the time from
producing a WindowResult that crosses a rule's threshold to the moment the
alert's POST /api/v2/alerts arrives at a small HTTP receiver standing in for
Alertmanager (answering 200 like it does), p50 / p99 / max.

Each sample is a new alert (a new group), so every result is one firing
transition: read from ioc.aggregates.v1, evaluated, published to
ioc.alerts.v1, queued and POSTed. Results are produced at a steady rate by
an independent client (confluent-kafka, linger 0) on the embedded broker.

Usage: bench/alerter_latency.py [--samples N] [--rate R]
Needs the built binaries (IOC_BIN, default build/bin) and
python3-confluent-kafka (scripts/install-deps.sh installs it)."""

import argparse
import http.server as http_server
import json
import os
import statistics
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
os.environ.setdefault("IOC_BIN", os.path.join(ROOT, "build/bin"))
os.environ.setdefault("IOC_SOURCE", ROOT)

from harness import CONFIG, System, free_port, http, produce, proto_modules, read_topic, wait_until  # noqa: E402

VIEWS = """views:
  bench_10m:
    source: reports
    group_by: [district, category]
    window: {tumbling: 10m}
    aggregations: [count]
"""
RULES = """rules:
  - name: BenchSurge
    view: bench_10m
    value: count
    fire: ">= 10"
    severity: critical
    category: naturalDisaster
    annotations: {summary: "{{value}} in {{district}}"}
    scenario: none
"""


class Receiver:
    """Stands in for Alertmanager: records when each alert's POST arrived."""

    def __init__(self):
        self.arrived = {}
        self.posts = 0
        outer = self

        class Handler(http_server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time()
                for a in json.loads(body):
                    outer.arrived.setdefault(a["labels"]["district"], now)
                outer.posts += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http_server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50, help="results per second")
    ap.add_argument("--set", action="append", default=[], help="extra ioc-alerter settings, key=value")
    args = ap.parse_args()

    system = System()
    receiver = Receiver()
    try:
        bootstrap = f"127.0.0.1:{free_port()}"
        bport = free_port()
        broker = system.start("ioc-broker", "--set", f"broker.bootstrap={bootstrap}",
                              "--set", f"http.listen=127.0.0.1:{bport}")
        broker.wait_http(f"http://127.0.0.1:{bport}/readyz")
        views = os.path.join(system.workdir, "views.yaml")
        rules = os.path.join(system.workdir, "rules.yaml")
        with open(views, "w") as f:
            f.write(VIEWS)
        with open(rules, "w") as f:
            f.write(RULES)
        port = free_port()
        alerter = system.start("ioc-alerter", "--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}",
                               "--set", f"http.listen=127.0.0.1:{port}", "--set", f"alerter.rules={rules}",
                               "--set", f"alerter.views={views}",
                               "--set", f"alerter.alertmanager.url=http://127.0.0.1:{receiver.port}",
                               "--set", "alerter.alertmanager.resend_interval=1h", "--set", "log.level=warn",
                               *[x for kv in args.set for x in ("--set", kv)])
        alerter.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
        modules = proto_modules(system.workdir)
        pb = modules["window_result"]
        import importlib
        alert_pb = importlib.import_module("ioc.v1.alert_event_pb2")
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})

        def result(district, count):
            r = pb.WindowResult(view="bench_10m", revision=1, count=count)
            r.group.add(name="district", value=district)
            r.group.add(name="category", value="flood")
            start = int(time.time() * 1000) - 1000
            r.window_start.FromMilliseconds(start)
            r.window_end.FromMilliseconds(start + 600_000)
            r.values.add(name="count", value=count)
            return r.SerializeToString(), f"bench_10m|{district}/flood|{start}".encode()

        # Warm up until the alerter evaluates (it waits to have read its backlog).
        value, key = result("warmup", 10)
        produce(producer, "ioc.aggregates.v1", value, key)
        producer.flush(10)
        wait_until(lambda: "warmup" in receiver.arrived, 60, "the warm-up alert")

        sent = {}
        start = time.monotonic()
        for i in range(args.samples):
            due = start + i / args.rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            value, key = result(f"b{i}", 10)
            sent[f"b{i}"] = time.time()
            produce(producer, "ioc.aggregates.v1", value, key)
            producer.poll(0)
        producer.flush(10)
        wait_until(lambda: all(d in receiver.arrived for d in sent), 60, "every alert at the receiver")
        lat = [(receiver.arrived[d] - t) * 1000 for d, t in sent.items()]
        decided = {}
        for rec in read_topic(bootstrap, "ioc.alerts.v1"):
            e = alert_pb.AlertEvent()
            e.ParseFromString(rec["value"])
            decided[e.group[0].value] = e.sent_at.ToMilliseconds() / 1000
        to_decision = [(decided[d] - t) * 1000 for d, t in sent.items()]
        to_post = [(receiver.arrived[d] - decided[d]) * 1000 for d in sent]
        metrics = http("GET", f"http://127.0.0.1:{port}/metrics")[2]
        print(f"alerter latency, window result produced -> POST /api/v2/alerts received "
              f"({args.samples} alerts at {args.rate:g}/s, {receiver.posts} POSTs)")
        print(f"  p50 {percentile(lat, 0.50):6.1f} ms   p90 {percentile(lat, 0.90):6.1f} ms   "
              f"p99 {percentile(lat, 0.99):6.1f} ms   max {max(lat):6.1f} ms   mean {statistics.mean(lat):6.1f} ms")
        print(f"  of which: produced -> decided (AlertEvent.sent_at)  p50 {percentile(to_decision, 0.5):6.1f} ms   "
              f"p99 {percentile(to_decision, 0.99):6.1f} ms")
        print(f"            decided -> POST received             p50 {percentile(to_post, 0.5):6.1f} ms   "
              f"p99 {percentile(to_post, 0.99):6.1f} ms")
        for line in metrics.splitlines():
            if line.startswith("ioc_alerter_evaluation_duration_seconds_sum") or \
                    line.startswith("ioc_alerter_evaluation_duration_seconds_count"):
                print("  " + line)
    finally:
        codes = system.stop_all()
        if any(c != 0 for c in codes.values()):
            system.dump_logs()
        system.cleanup(False)


if __name__ == "__main__":
    main()
