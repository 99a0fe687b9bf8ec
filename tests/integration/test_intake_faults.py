"""Reports through two ioc-intake replicas (following each other) while the
broker is stopped and resumed and one intake is killed with SIGKILL while
its spool is replayed, then started again. Clients retry every request that
got no 202, at either replica, with the same Idempotency-Key and body.

An independent client (python3-confluent-kafka) then checks that every id
answered 202 is on ioc.reports.v1, and that the aggregator counts each id
exactly once: every final window result equals the number of distinct ids
in its window, however often a report was stored.

IOC_INTAKE_FAULT_RUNS=5 runs the whole scenario 5 times in a row, each
printing a summary line."""

import collections
import json
import os
import random
import signal
import sys
import threading
import time
import unittest

from harness import (CONFIG, DISTRICTS, VIEW, SystemTestCase, free_port, http, intake_args, metric, proto_modules, read_topic,
                     report_body, report_view, wait_until)

RUNS = int(os.environ.get("IOC_INTAKE_FAULT_RUNS", "1"))
REPORTS_PER_RUN = 400
WINDOW_S = 10
AGGREGATOR = [*report_view(window=f"{WINDOW_S}s", lateness="60s", ooo="1s", idle="3s"),
              "--set", "aggregator.checkpoint_interval=200ms"]
CATEGORIES = ["flood", "fire", "traffic_accident", "landslide"]


class Client(threading.Thread):
    """Sends its reports, each until some replica answers 202, alternating
    replicas after a failure (a refused connection, a 503, a 409)."""

    def __init__(self, urls, reports, deadline):
        super().__init__(daemon=True)
        self.urls, self.reports, self.deadline = urls, reports, deadline
        self.answered = {}  # key -> id
        self.attempts = 0
        self.error = None

    def run(self):
        try:
            for n, (key, body) in enumerate(self.reports):
                replica = n % 2
                while True:
                    self.attempts += 1
                    try:
                        status, _, text = http("POST", self.urls[replica] + "/api/v1/reports", body,
                                               headers={"Idempotency-Key": key}, timeout=5)
                    except OSError:
                        status, text = None, ""
                    if status == 202:
                        self.answered[key] = json.loads(text)["id"]
                        break
                    if time.monotonic() > self.deadline:
                        raise AssertionError(f"{key}: no 202 in time (last {status} {text[:200]})")
                    replica = 1 - replica
                    time.sleep(0.1)
                time.sleep(0.25)  # the stream lasts about 12 s: the faults fall inside it
        except Exception as e:  # reported by the test
            self.error = e


class IntakeFaultTest(SystemTestCase):
    def intake(self, bootstrap, port, name):
        svc = self.system.start("ioc-intake", *intake_args(
            bootstrap, port, "--set", "intake.idempotency.follow_replicas=true",
            "--set", f"intake.spool.dir=spool-{name}", "--set", "intake.delivery_timeout=1s",
            "--set", "intake.rate_limit.per_ip=0"))
        svc.wait_http(f"http://127.0.0.1:{port}/healthz")
        return svc

    def spool_depth(self, port):
        try:
            return json.loads(http("GET", f"http://127.0.0.1:{port}/readyz", timeout=5)[2]).get("spool_depth", 0)
        except OSError:
            return None

    def one_run(self, run):
        rnd = random.Random(run)
        bootstrap = f"127.0.0.1:{free_port()}"
        broker, _ = self.start_broker(bootstrap)
        aport = free_port()
        self.system.start("ioc-aggregator", "--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}",
                          "--set", f"http.listen=127.0.0.1:{aport}", "--set", f"aggregator.group_id=faults-{run}",
                          *AGGREGATOR).wait_http(f"http://127.0.0.1:{aport}/healthz")
        ports = [free_port(), free_port()]
        a = self.intake(bootstrap, ports[0], f"{run}-a")
        self.intake(bootstrap, ports[1], f"{run}-b")
        for port in ports:
            wait_until(lambda: json.loads(http("GET", f"http://127.0.0.1:{port}/readyz")[2])["report_index_ready"],
                       30, "the intakes' indexes")
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        reports = [(f"fault-{run}-{i}", report_body(rnd.choice(DISTRICTS), rnd.choice(CATEGORIES)))
                   for i in range(REPORTS_PER_RUN)]
        clients = [Client(urls, reports[k::8], time.monotonic() + 180) for k in range(8)]
        for c in clients:
            c.start()

        # The broker stops for a while (reports go to the spools), comes back,
        # and intake a dies while it replays its spool.
        time.sleep(1.5)
        broker.proc.send_signal(signal.SIGSTOP)
        time.sleep(4)
        depth_before = self.spool_depth(ports[0])
        broker.proc.send_signal(signal.SIGCONT)
        time.sleep(0.3)
        a.kill9()
        time.sleep(1)
        self.intake(bootstrap, ports[0], f"{run}-a")
        for c in clients:
            c.join(200)
            if c.error:
                raise c.error
        answered = {}
        for c in clients:
            answered.update(c.answered)
        self.assertEqual(len(answered), REPORTS_PER_RUN, "every report was answered 202")
        for port in ports:
            wait_until(lambda: self.spool_depth(port) == 0, 60, "the spools replayed")

        # What is on the topic, read independently.
        pb = proto_modules(self.system.workdir)
        by_id = collections.defaultdict(list)
        for rec in read_topic(bootstrap, "ioc.reports.v1", timeout=60):
            r = pb["report"].Report()
            r.ParseFromString(rec["value"])
            by_id[r.id].append(r)
        missing = sorted(set(answered.values()) - set(by_id))
        self.assertEqual(missing, [], "ids answered 202 but not on the topic")
        expected = collections.Counter()
        for rid, copies in by_id.items():
            r = copies[0]
            self.assertTrue(all(c.district == r.district and c.category == r.category for c in copies),
                            f"{rid} names two reports")
            start = r.occurred_at.ToMilliseconds() // (WINDOW_S * 1000) * WINDOW_S * 1000
            expected[f"{VIEW}|{r.district}/{r.category}|{start}"] += 1

        # Every window closes by the quiet-partition rule once reports stop.
        finals = {}

        def all_final():
            for rec in read_topic(bootstrap, "ioc.aggregates.v1", timeout=60):
                w = pb["window_result"].WindowResult()
                w.ParseFromString(rec["value"])
                if w.final:
                    finals[rec["key"].decode()] = w.count
            return all(k in finals for k in expected)
        wait_until(all_final, 150, "a final result for every window")
        wrong = {k: (finals[k], n) for k, n in expected.items() if finals[k] != n}
        self.assertEqual(wrong, {}, "final counts (got, distinct ids)")
        stored_twice = sum(len(c) - 1 for c in by_id.values())
        text = http("GET", f"http://127.0.0.1:{aport}/metrics")[2]
        summary = {"run": run, "reports": REPORTS_PER_RUN, "attempts": sum(c.attempts for c in clients),
                   "spool_depth_at_resume": depth_before, "stored_twice": stored_twice,
                   "counted_as_duplicate": metric(text, "ioc_aggregator_events_total", {"outcome": "duplicate"}),
                   "windows": len(expected)}
        sys.stderr.write(f"\nintake fault run: PASS {json.dumps(summary, sort_keys=True)}\n")
        codes = self.system.stop_all()
        self.assertTrue(all(c == 0 for c in codes.values()), f"every service exits 0 on SIGTERM: {codes}")

    def test_reports_are_stored_and_counted_once_through_broker_stops_and_intake_kill_9(self):
        for run in range(RUNS):
            self.one_run(run)
        self.passed()


if __name__ == "__main__":
    unittest.main()
