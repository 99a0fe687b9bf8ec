"""kill -9 of ioc-aggregator mid-stream: after a restart every window's final
count equals a from-scratch computation (no double counts, no gaps), and any
window published twice was published with the same value. SIGTERM while a
replica reads a backlog (as after such a restart) ends it cleanly."""

import collections
import json
import signal
import time
import unittest

from harness import (CONFIG, DISTRICTS, VIEW, SystemTestCase, report_view, free_port, http, metric, produce, proto_modules,
                     read_topic, revision_violations, rfc3339, wait_until)


class AggregatorCrashTest(SystemTestCase):
    def test_kill_9_and_restart_keeps_final_counts_exact(self):
        s = self.system
        bootstrap = f"127.0.0.1:{free_port()}"
        common = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}"]
        self.start_broker(bootstrap)
        iport = free_port()
        s.start("ioc-intake", *common, "--set", f"http.listen=127.0.0.1:{iport}").wait_http(
            f"http://127.0.0.1:{iport}/readyz")
        aggregator_args = [*common, *report_view(lateness="30s", ooo="0s", idle="0s"),
                           "--set", "aggregator.checkpoint_interval=100ms",
                           "--set", "kafka.properties.session.timeout.ms=6000",
                           "--set", "kafka.properties.heartbeat.interval.ms=1000"]
        aport = free_port()
        first = s.start("ioc-aggregator", *aggregator_args, "--set", f"http.listen=127.0.0.1:{aport}")
        first.wait_http(f"http://127.0.0.1:{aport}/readyz")

        base = (int(time.time()) // 60) * 60 - 1200
        expected = collections.Counter()

        def post(district, category, t, window=None):
            body = {"category": category, "district": district, "occurred_at": rfc3339(t)}
            status, _, text = http("POST", f"http://127.0.0.1:{iport}/api/v1/reports", json.dumps(body))
            self.assertEqual(status, 202, text)
            if window is not None:
                expected[(window, district, category)] += 1

        for i in range(40):  # W0 and W1
            post(DISTRICTS[i % 7], "flood" if i % 3 else "fire", base + (i * 3) % 120, ((i * 3) % 120) // 60)
        for d in DISTRICTS:  # watermark to base+150: W0 and W1 final
            post(d, "other", base + 150, 2)
        pb = proto_modules(s.workdir)

        def finals():
            out = collections.defaultdict(set)
            for rec in read_topic(bootstrap, "ioc.aggregates.v1"):
                r = pb["window_result"].WindowResult()
                r.ParseFromString(rec["value"])
                if r.final:
                    out[rec["key"].decode()].add(r.count)
            return out
        want_w01 = {k for k in expected if k[0] < 2}
        wait_until(lambda: len(finals()) >= len(want_w01), 60, "W0 and W1 final")
        for i in range(30):  # W2, still open when the aggregator dies
            post(DISTRICTS[i % 5], "traffic_accident", base + 125 + i, 2)
        time.sleep(0.3)  # let a few commits happen mid-stream (any point is a valid crash point)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait()
        first.returncode = 0  # killed on purpose

        aport2 = free_port()
        second = s.start("ioc-aggregator", *aggregator_args, "--set", f"http.listen=127.0.0.1:{aport2}")
        second.wait_http(f"http://127.0.0.1:{aport2}/readyz", timeout=60)
        for d in DISTRICTS:  # watermark to base+400: W2 final; these stay open
            post(d, "other", base + 400)
        want = {f"{VIEW}|{d}/{c}|{(base + 60 * w) * 1000}": n for (w, d, c), n in expected.items()}
        got = wait_until(lambda: (lambda f: f if len(f) >= len(want) else None)(finals()), 90, "all finals")
        self.assertEqual({k: v for k, v in got.items() if len(v) != 1}, {}, "a window published with two values")
        self.assertEqual({k: next(iter(v)) for k, v in got.items()}, want)
        self.passed()

    def test_kill_9_between_checkpoints_never_gives_a_revision_two_values(self):
        # Regression: a replica restored the last checkpoint, replayed the
        # input after it and published early results with the revisions its
        # crashed predecessor had used, with other counts (e.g. revision 2
        # with count 4, then revision 2 with count 16): consumers holding the
        # first kept it, since an equal revision is no news.
        s = self.system
        bootstrap = f"127.0.0.1:{free_port()}"
        common = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}"]
        self.start_broker(bootstrap)
        pb = proto_modules(s.workdir)
        args = [*common, *report_view(window="1m", lateness="2m", ooo="0s", idle="0s", emit="{mode: both, interval: 200ms}"),
                "--set", "aggregator.checkpoint_interval=3s",
                "--set", "kafka.properties.session.timeout.ms=6000",
                "--set", "kafka.properties.heartbeat.interval.ms=1000"]
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        base = (int(time.time()) // 60) * 60 - 600
        sent = collections.Counter()
        serial = [0]

        def post(n, t):
            for _ in range(n):
                serial[0] += 1
                d = DISTRICTS[serial[0] % 3]
                r = pb["report"].Report(id=f"k{serial[0]}", district=d, category="flood")
                r.occurred_at.FromMilliseconds(t * 1000)
                produce(producer, "ioc.reports.v1", r.SerializeToString(), d.encode())
                sent[(d, t // 60 * 60)] += 1
            producer.flush(10)

        for run in range(3):  # three crashes, each a few seconds after a checkpoint
            port = free_port()
            agg = s.start("ioc-aggregator", *args, "--set", f"http.listen=127.0.0.1:{port}")
            agg.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
            for i in range(25):  # 5 s of early revisions of the open windows
                post(2, base + run * 5 + i // 5)
                time.sleep(0.2)
            agg.kill9()
        port = free_port()
        agg = s.start("ioc-aggregator", *args, "--set", f"http.listen=127.0.0.1:{port}")
        agg.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
        post(3, base + 400)  # the watermark passes end + lateness: finals

        def finals():
            out = {}
            for rec in read_topic(bootstrap, "ioc.aggregates.v1"):
                r = pb["window_result"].WindowResult()
                r.ParseFromString(rec["value"])
                if r.final:
                    out[rec["key"].decode()] = r.count
            return out
        want = {f"{VIEW}|{d}/flood|{t * 1000}": n for (d, t), n in sent.items() if t < base + 360}
        got = wait_until(lambda: (lambda f: f if set(want) <= set(f) else None)(finals()), 60, "the finals")
        self.assertEqual({k: got[k] for k in want}, want)
        down, twice = revision_violations(read_topic(bootstrap, "ioc.aggregates.v1"), pb["window_result"].WindowResult)
        self.assertEqual(twice, [], "a (key, revision) published with two values")
        self.assertEqual(down, [], "a key whose revision went down")
        self.passed()

    def test_sigterm_while_reading_a_backlog_exits_0(self):
        # Regression: records fetched but not yet polled when the consumer
        # closed aborted the process inside librdkafka (rd_kafka_q_serve:
        # assert: res != RD_KAFKA_OP_RES_PASS) instead of exiting 0.
        s = self.system
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap)
        pb = proto_modules(s.workdir)
        from confluent_kafka import Producer
        backlog = 150_000  # read in a few hundred ms: long enough to stop a replica in the middle
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
        start_ms = int(time.time() * 1000) - 60_000
        for i in range(backlog):
            r = pb["report"].Report(id=f"b{i}", district=DISTRICTS[i % 7], category="flood")
            r.occurred_at.FromMilliseconds(start_ms + i // 10)
            produce(producer, "ioc.reports.v1", r.SerializeToString(), r.district.encode())
        self.assertEqual(producer.flush(60), 0)

        stopped_mid_backlog = 0
        for run in range(5):  # a new group each time: every replica starts at the beginning of the backlog
            port = free_port()
            agg = s.start("ioc-aggregator", "--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}",
                          "--set", f"http.listen=127.0.0.1:{port}", "--set", f"aggregator.group_id=backlog-{run}")

            def accepted():
                text = http("GET", f"http://127.0.0.1:{port}/metrics", timeout=2)[2]
                return metric(text, "ioc_aggregator_events_total", {"outcome": "accepted"})
            read = wait_until(accepted, 30, "the aggregator reading the backlog")
            code = agg.stop()
            self.assertEqual(code, 0, f"run {run}: exit {code} on SIGTERM\n{agg.log()[-2000:]}")
            stopped_mid_backlog += read < backlog
        # Otherwise this test checked nothing: every stop came after the backlog was read.
        self.assertGreater(stopped_mid_backlog, 0, "no replica was stopped while reading the backlog")
        self.passed()


if __name__ == "__main__":
    unittest.main()
