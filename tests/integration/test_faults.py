"""Fault injection with real processes: kill -9 of the aggregator while
reports flow, an ioc-broker restart, a broker outage longer than every
timeout, a poison far-future record, a stopped
group whose partitions are pruned, and a stop after broker outages with a
Kafka client stuck in its teardown.

An independent client (python3-confluent-kafka) reads the topics and checks
that every report in ioc.reports.v1 is either counted in exactly one final
window result (with the right count) or in the dead-letter topic with its
reason, and that the aggregator's counters agree with the dead letters."""

import collections
import json
import os
import random
import signal
import subprocess
import threading
import time
import unittest

from harness import (CONFIG, DISTRICTS, LIB, VIEW, SystemTestCase, report_view, free_port, http, metric, produce, proto_modules,
                     read_topic, report_account, rfc3339, wait_until)

WINDOW_S = 10
AGGREGATOR = [*report_view(window=f"{WINDOW_S}s", lateness="5s", ooo="1s", idle="2s"),
              "--set", "aggregator.checkpoint_interval=200ms", "--set", "aggregator.stats_interval=200ms",
              "--set", "kafka.properties.session.timeout.ms=6000",
              "--set", "kafka.properties.heartbeat.interval.ms=1000", "--set", "process.shutdown_timeout=10s"]
CATEGORIES = ["flood", "fire", "traffic_accident", "landslide"]
REPORTS = "ioc.reports.v1"
DEAD = "ioc.deadletter.v1"


class Poster(threading.Thread):
    """Posts reports to the intake at a steady pace until stopped; remembers
    each accepted one with the time it was sent."""

    def __init__(self, url, per_second=30):
        super().__init__(daemon=True)
        self.url = url
        self.pause = 1.0 / per_second
        self.accepted = []
        self.halt = threading.Event()

    def run(self):
        rnd = random.Random(7)
        while not self.halt.is_set():
            sent = time.time()
            body = {"category": rnd.choice(CATEGORIES), "district": rnd.choice(DISTRICTS),
                    "occurred_at": rfc3339(sent - rnd.uniform(0, 0.8))}
            try:
                status, _, text = http("POST", self.url, json.dumps(body), timeout=10)
            except OSError:
                status, text = 0, ""
            if status == 202:
                self.accepted.append((sent, json.loads(text)["id"]))
            else:
                time.sleep(0.2)  # 503 while the broker is away: try again
            time.sleep(self.pause)

    def stop(self):
        self.halt.set()
        self.join(30)


class FaultTest(SystemTestCase):
    def setUp(self):
        super().setUp()
        self.bootstrap = f"127.0.0.1:{free_port()}"
        self.common = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={self.bootstrap}"]
        self.pb = proto_modules(self.system.workdir)

    # ------------------------------------------------------------ services

    def broker(self):
        broker, self.broker_port = self.start_broker(self.bootstrap, "--set", "broker.monitor_interval=300ms")
        return broker

    def broker_metrics(self):
        return http("GET", f"http://127.0.0.1:{self.broker_port}/metrics")[2]

    def intake(self):
        port = free_port()
        # One test client sends all the load: no per-address limit.
        self.system.start("ioc-intake", *self.common, "--set", f"http.listen=127.0.0.1:{port}",
                          "--set", "intake.delivery_timeout=2s",
                          "--set", "intake.rate_limit.per_ip=0").wait_http(f"http://127.0.0.1:{port}/readyz")
        return f"http://127.0.0.1:{port}/api/v1/reports"

    def aggregator(self, env=None, *extra):
        port = free_port()
        s = self.system.start("ioc-aggregator", *self.common, *AGGREGATOR, *extra,
                              "--set", f"http.listen=127.0.0.1:{port}", env=env)
        s.port = port
        s.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=90)
        return s

    @staticmethod
    def ready(agg):
        return http("GET", f"http://127.0.0.1:{agg.port}/readyz", timeout=5)

    @staticmethod
    def counter(agg, outcome):
        text = http("GET", f"http://127.0.0.1:{agg.port}/metrics")[2]
        return metric(text, "ioc_aggregator_events_total", {"outcome": outcome})

    def produce(self, records, partition=None):
        """Writes (key, value) pairs straight to ioc.reports.v1, as any producer could."""
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 20})
        for key, value in records:
            produce(p, REPORTS, value, key, **({} if partition is None else {"partition": partition}))
        self.assertEqual(p.flush(60), 0)

    def report(self, rid, district, t, category="flood", description=""):
        r = self.pb["report"].Report(id=rid, district=district, category=category, description=description)
        r.occurred_at.FromMilliseconds(int(t * 1000))
        return district.encode(), r.SerializeToString()

    def dead_letter_ends(self):
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "it-ends"})
        try:
            return {p: c.get_watermark_offsets(TopicPartition(DEAD, p), timeout=10)[1] for p in range(3)}
        finally:
            c.close()

    # ------------------------------------------------------------ the independent account

    def account(self):
        expected, finals, dead, by_id = report_account(self.bootstrap, self.pb, VIEW, WINDOW_S)
        return (collections.Counter(expected), finals, dead,
                {i: srcs[-1] for i, srcs in by_id.items()})

    def settled_account(self, timeout=90):
        """The account once every window with reports has its final result."""
        return wait_until(lambda: (lambda a: a if set(a[0]) <= set(a[1]) else None)(self.account()), timeout,
                          "a final result for every window with reports")

    def assert_exact(self, expected, finals, keys=None):
        twice = {k: v for k, v in finals.items() if len(v) != 1}
        self.assertEqual(twice, {}, "windows published with two different final values")
        keys = set(expected) if keys is None else keys
        self.assertEqual({k: next(iter(finals[k])) for k in keys}, {k: expected[k] for k in keys})

    # ------------------------------------------------------------ the faults

    def test_kill_9_three_times_while_reports_flow_then_late_reports(self):
        self.broker()
        url = self.intake()
        agg = self.aggregator()
        poster = Poster(url)
        poster.start()
        for _ in range(3):
            time.sleep(3)
            agg.kill9()
            agg = self.aggregator()
        # From here on, whatever the aggregator sets aside is the last instance's.
        ends = self.dead_letter_ends()
        late_ids = []
        for i in range(50):
            body = {"category": "flood", "district": DISTRICTS[i % 9], "occurred_at": rfc3339(time.time() - 60)}
            status, _, text = http("POST", url, json.dumps(body))
            self.assertEqual(status, 202, text)
            late_ids.append(json.loads(text)["id"])
        subprocess.run(["kcat", "-b", self.bootstrap, "-P", "-t", REPORTS, "-k", "380"], input=b"\x01garbage",
                       check=True, timeout=30)
        time.sleep(2)
        poster.stop()
        self.assertGreater(len(poster.accepted), 100)

        expected, finals, dead, by_id = self.settled_account()
        self.assert_exact(expected, finals)
        missing = [i for _, i in poster.accepted if i not in by_id] + [i for i in late_ids if i not in by_id]
        self.assertEqual(missing, [], "accepted reports missing from ioc.reports.v1")
        for rid in late_ids:
            reasons = [r for r, _, _ in dead[by_id[rid]]]
            self.assertTrue(reasons and all(r.startswith("late for ") for r in reasons), (rid, reasons))
        # The counters agree with the dead letters written since the last restart.
        since = collections.Counter("late" if r.startswith("late for ") else r.split(":")[0]
                                    for v in dead.values() for r, p, o in v if o >= ends[p])
        self.assertEqual(since, {"late": 50, "invalid record": 1})
        wait_until(lambda: self.counter(agg, "late") == 50 and self.counter(agg, "invalid") == 1, 30,
                   "late and invalid counters of the last instance")
        self.assertEqual(self.counter(agg, "pruned"), 0)
        self.assertEqual(self.counter(agg, "beyond_time_bound"), 0)
        self.passed()

    def test_broker_restart_while_reports_flow(self):
        broker = self.broker()
        url = self.intake()
        agg = self.aggregator()
        poster = Poster(url)
        poster.start()
        time.sleep(3)
        self.assertEqual(broker.stop(), 0)
        status, _, body = wait_until(lambda: (lambda r: r if r[0] == 503 else None)(self.ready(agg)), 30,
                                     "/readyz 503 while the broker is away")
        self.assertRegex(json.loads(body)["reason"], "no broker connection|no partitions")
        restarted = time.time()
        self.broker()
        wait_until(lambda: self.ready(agg)[0] == 200, 90, "the aggregator consuming again")
        since = time.time()
        # Post on into a window that begins after the restart.
        boundary = (int(restarted + 1) // WINDOW_S + 1) * WINDOW_S
        time.sleep(max(4, boundary + 3 - time.time()))
        poster.stop()

        expected, finals, dead, by_id = self.settled_account()
        # The embedded broker keeps data in memory: what it held before the
        # restart is gone. Windows that began after it hold only new reports.
        after = {k for k in expected if int(k.rsplit("|", 1)[1]) >= (restarted + 1) * 1000}
        self.assertTrue(after)
        self.assert_exact(expected, finals, after)
        for k in expected:
            self.assertGreaterEqual(next(iter(finals[k])), expected[k], k)
        missing = [i for t, i in poster.accepted if t >= since and i not in by_id]
        self.assertEqual(missing, [], "reports accepted after the restart missing from ioc.reports.v1")
        self.assertEqual(dead, {})
        text = http("GET", f"http://127.0.0.1:{agg.port}/metrics")[2]
        self.assertIsNotNone(metric(text, "ioc_aggregator_consumer_lag", {"partition": "0"}))
        # The outage's error events were counted, not just logged.
        self.assertGreater(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                               if line.startswith("ioc_aggregator_consumer_errors_total{")), 0)
        self.assertEqual(agg.stop(), 0)  # before the broker it outlived: a clean stop commits
        self.passed()

    def test_a_broker_outage_longer_than_every_timeout_is_ridden_out(self):
        # Regression: the aggregator exited 1 after delivery_timeout (30 s)
        # without a broker, and stayed down until someone restarted it.
        broker = self.broker()
        url = self.intake()
        agg = self.aggregator()
        poster = Poster(url, per_second=10)
        poster.start()
        time.sleep(3)
        poster.stop()
        # SIGSTOP: the broker keeps its in-memory logs but answers nothing.
        # Meanwhile the quiet-partition rule closes the open windows, and
        # their results wait for the broker.
        broker.proc.send_signal(signal.SIGSTOP)
        outage = time.monotonic()
        not_ready = None
        while time.monotonic() - outage < 45:
            self.assertIsNone(agg.proc.poll(), f"the aggregator exited during the outage:\n{agg.log()[-3000:]}")
            status, _, body = self.ready(agg)
            if status == 503 and not_ready is None:
                not_ready = json.loads(body)["reason"]
            time.sleep(0.5)
        broker.proc.send_signal(signal.SIGCONT)
        self.assertIsNotNone(not_ready, "/readyz said ready through a 45 s outage")
        wait_until(lambda: self.ready(agg)[0] == 200, 60, "the aggregator ready again after the outage")
        expected, finals, dead, by_id = self.settled_account()
        self.assert_exact(expected, finals)
        self.assertEqual(dead, {})
        self.assertTrue(poster.accepted)
        self.assertEqual([i for _, i in poster.accepted if i not in by_id], [], "accepted reports missing")
        self.assertEqual(agg.stop(), 0)
        self.passed()

    def test_poison_far_future_record(self):
        self.broker()
        agg = self.aggregator()
        now = time.time()
        self.produce([self.report("poison", "380", 253402300799)] +
                     [self.report(f"a{i}", "380", now - 1 + i * 0.1) for i in range(20)])
        expected, finals, dead, by_id = self.settled_account()
        self.assert_exact(expected, finals)
        self.assertEqual(sum(expected.values()), 20)
        self.assertEqual(len(dead), 1)
        reason = dead[by_id["poison"]][0][0]
        self.assertTrue(reason.startswith("beyond time bound: occurred_at 9999-12-31T23:59:59.000Z"), reason)
        self.assertEqual(self.counter(agg, "beyond_time_bound"), 1)
        self.assertEqual(self.counter(agg, "late"), 0)

        self.assertEqual(agg.stop(), 0)
        agg = self.aggregator()
        now = time.time()
        self.produce([self.report(f"b{i}", "380", now - 1 + i * 0.1) for i in range(10)])
        expected, finals, dead, _ = self.settled_account()
        self.assert_exact(expected, finals)
        self.assertEqual(sum(expected.values()), 30)
        self.assertEqual(len(dead), 1, "the poison record is dead-lettered once, nothing else")
        self.assertEqual(self.counter(agg, "late"), 0)
        self.passed()

    def test_stopped_group_whose_partition_is_pruned(self):
        self.broker()
        agg = self.aggregator()
        labels = {"group": "ioc-aggregator", "topic": REPORTS, "partition": "0"}
        # Partition 0 never had a record: its position is committed all the same.
        wait_until(lambda: metric(self.broker_metrics(), "ioc_broker_group_committed_offset", labels) == 0, 30,
                   "the group's commit on the empty partition")
        self.assertEqual(agg.stop(), 0)

        now = time.time()
        pad = "x" * 200
        self.produce([self.report(f"p{i}", "380", now + (i % 50) * 0.01, description=pad) for i in range(32000)],
                     partition=0)
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "it-wm"})
        low, high = c.get_watermark_offsets(TopicPartition(REPORTS, 0), timeout=10)
        c.close()
        self.assertGreater(low, 0, "the broker pruned the partition")
        # The broker's watch samples the offsets every few seconds: a sample
        # taken while the records were still arriving shows fewer lost.
        wait_until(lambda: metric(self.broker_metrics(), "ioc_broker_group_records_pruned_unread", labels) == low, 30,
                   "the broker reporting every record pruned before the group read it")

        agg = self.aggregator()
        wait_until(lambda: self.counter(agg, "accepted") == high - low, 60, "every retained record aggregated")
        self.assertEqual(self.counter(agg, "pruned"), low)
        self.assertIn("were removed before they were read", agg.log())
        self.passed()

    def test_stop_is_bounded_after_broker_outages_even_if_the_client_hangs(self):
        broker = self.broker()
        hang = {"LD_PRELOAD": os.path.join(LIB, "libioc_test_hang_destroy.so"),
                "ASAN_OPTIONS": "verify_asan_link_order=0"}
        agg = self.aggregator(hang, "--set", "process.shutdown_timeout=3s")
        for _ in range(2):
            self.assertEqual(broker.stop(), 0)
            wait_until(lambda: self.ready(agg)[0] == 503, 30, "/readyz 503 while the broker is away")
            broker = self.broker()
            wait_until(lambda: self.ready(agg)[0] == 200, 90, "the aggregator back")
        self.assertEqual(agg.stop(timeout=30), 0)
        self.assertIn("shutdown did not finish in time", agg.log())
        self.passed()


if __name__ == "__main__":
    unittest.main()
