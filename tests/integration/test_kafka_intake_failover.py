"""ioc-intake on a real Apache Kafka cluster of 3 brokers (replication 3,
min.insync.replicas 2) while the broker leading most partitions of
ioc.reports.v1 is killed -9 and later restarted: with two replicas left the
cluster never stops taking writes, so the leader failover must cost no
request and no double count.

Reporters post 20 reports a second, each when it is due, from a pool of
client threads (no reporter waits for another's answer), each report with
its own id and Idempotency-Key, against the default settings (rate limits
included). Checked with independent clients: every POST got 202, every id
answered 202 is on ioc.reports.v1 exactly once (read back with
python3-confluent-kafka), /readyz stayed 200 with a broker connection while
one broker was down, and the intake never said the brokers were
unreachable. An ioc-aggregator reads along: every window's final equals the
independent account of the topic, and no result key's revision goes down
or names two values."""

import collections
import concurrent.futures
import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

from harness import (BIN, CONFIG, DISTRICTS, SystemTestCase, free_port, http, intake_args, proto_modules, read_topic,
                     report_body, report_view, wait_until)
from kafka_cluster import KafkaCluster, assert_results_exact, require_kafka

REPORTS = "ioc.reports.v1"
RATE = 20            # reports per second
KILLED_FOR = 20      # seconds of posting with the leader dead
WINDOW_S = 10        # the aggregator's windows
CLIENT_TIMEOUT = 10  # seconds a reporter's app waits for an answer


class Reporters(threading.Thread):
    """Reports at RATE per second until stopped, each sent when it is due
    from a pool of client threads, as independent reporters do: one waiting
    for its answer holds no other back. Keeps every answer: (id, status,
    body, seconds)."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url = url
        self.rnd = random.Random(7)
        # Enough threads for every report of CLIENT_TIMEOUT seconds at once.
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=RATE * CLIENT_TIMEOUT + 20)
        self.sent = []
        self.halt = threading.Event()

    def post(self, rid, body):
        t = time.monotonic()
        try:
            status, _, text = http("POST", self.url, body, timeout=CLIENT_TIMEOUT,
                                   headers={"Idempotency-Key": f"it-{rid}"})
        except OSError as e:  # the client's own timeout, a reset connection
            status, text = 0, f"{type(e).__name__}: {e}"
        return rid, status, text, time.monotonic() - t

    def run(self):
        next_at = time.monotonic()
        while not self.halt.wait(max(0.0, next_at - time.monotonic())):
            rid = str(uuid.uuid4())
            body = report_body(district=self.rnd.choice(DISTRICTS), category="flood", id=rid)
            self.sent.append(self.pool.submit(self.post, rid, body))
            next_at += 1 / RATE

    def stop(self):
        self.halt.set()
        self.join(10)
        answers = [f.result() for f in self.sent]
        self.pool.shutdown()
        return answers


class ReadyWatch(threading.Thread):
    """Polls /readyz every 200 ms; keeps (time, status, body)."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url = url
        self.samples = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            t = time.monotonic()
            try:
                status, _, body = http("GET", self.url, timeout=5)
            except OSError as e:
                status, body = 0, str(e)
            self.samples.append((t, status, body))
            self.halt.wait(0.2)

    def stop(self):
        self.halt.set()
        self.join(10)


@require_kafka
class IntakeFailoverTest(SystemTestCase):
    def setUp(self):
        super().setUp()
        self.cluster = None
        self.kafka_dir = tempfile.mkdtemp(prefix="ioc-kafka-")
        # Runs after tearDown: the services stop first, while the cluster is up.
        self.addCleanup(self.stop_cluster)

    def stop_cluster(self):
        try:
            if self.cluster is not None:
                self.cluster.stop()
        finally:
            if self.failed:
                print(f"kafka logs kept in {self.kafka_dir}")
            else:
                shutil.rmtree(self.kafka_dir, ignore_errors=True)

    def create_topics(self):
        """ioc-topics, again until the cluster's metadata shows every topic in sync."""
        def created():
            r = subprocess.run([os.path.join(BIN, "ioc-topics"), "--config", CONFIG,
                                "--set", f"kafka.bootstrap_servers={self.cluster.bootstrap}",
                                "--set", "topics.replication_factor=3"], capture_output=True, text=True, timeout=120)
            return r.returncode == 0 and self.cluster.in_sync(REPORTS) and self.cluster.in_sync("ioc.report-status.v1")
        wait_until(created, 180, "the topics created with replication 3")

    def test_killing_the_leader_of_most_partitions_costs_no_request_and_no_double_count(self):
        self.cluster = KafkaCluster(self.kafka_dir, brokers=3).start()
        self.create_topics()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        intake = self.system.start("ioc-intake", *intake_args(self.cluster.bootstrap, port))
        intake.wait_http(f"{base}/readyz", timeout=60)
        wait_until(lambda: (lambda d: d["broker_connected"] and d["report_index_ready"])(
            json.loads(http("GET", f"{base}/readyz")[2])), 60, "the intake connected, its index read")
        aport = free_port()
        aggregator = self.system.start(
            "ioc-aggregator", "--config", CONFIG, "--set", f"kafka.bootstrap_servers={self.cluster.bootstrap}",
            "--set", f"http.listen=127.0.0.1:{aport}", "--set", "process.shutdown_timeout=10s",
            *report_view(window=f"{WINDOW_S}s", lateness="30s", ooo="2s", idle="5s"),
            "--set", "aggregator.checkpoint_interval=1s", "--set", "kafka.properties.session.timeout.ms=10000")
        aggregator.wait_http(f"http://127.0.0.1:{aport}/readyz", timeout=90)

        reporters = Reporters(f"{base}/api/v1/reports")
        watch = ReadyWatch(f"{base}/readyz")
        watch.start()
        reporters.start()
        time.sleep(5)
        leaders = self.cluster.leaders(REPORTS)
        victim, led = collections.Counter(leaders.values()).most_common(1)[0]
        self.cluster.kill(victim)
        killed = time.monotonic()
        time.sleep(KILLED_FOR)
        self.cluster.start_broker(victim)
        restarted = time.monotonic()
        time.sleep(5)
        answers = reporters.stop()
        watch.stop()

        refused = [(rid, status, text[:300]) for rid, status, text, _ in answers if status != 202]
        outcome = collections.Counter(json.loads(text)["status"] if status == 202 else status
                                      for _, status, text, _ in answers)
        slowest = max(seconds for _, _, _, seconds in answers)
        while_down = [(round(t - killed, 1), status, body) for t, status, body in watch.samples
                      if killed <= t <= restarted]
        not_ready = [s for s in while_down if s[1] != 200 or not json.loads(s[2])["broker_connected"]]

        # Whatever went to the spool is delivered (or was, by its original
        # record) once the failover is over.
        wait_until(lambda: json.loads(http("GET", f"{base}/readyz")[2])["spool_depth"] == 0, 120, "spool drained")
        pb = proto_modules(self.system.workdir)["report"]
        on_topic = collections.Counter()
        for rec in read_topic(self.cluster.bootstrap, REPORTS, timeout=60):
            r = pb.Report()
            r.ParseFromString(rec["value"])
            on_topic[r.id] += 1
        accepted = {rid for rid, status, _, _ in answers if status == 202}
        twice = {rid: n for rid, n in on_topic.items() if n > 1}
        missing = sorted(accepted - set(on_topic))
        print(f"\n{len(answers)} POSTs {dict(outcome)}, slowest answer {slowest:.1f} s; "
              f"broker {victim} led {led} of {len(leaders)} partitions, "
              f"down {restarted - killed:.0f} s; /readyz not ready or disconnected {len(not_ready)} of "
              f"{len(while_down)} times; {sum(on_topic.values())} records on {REPORTS}: {len(twice)} ids twice, "
              f"{len(missing)} missing")

        self.assertGreater(len(answers), RATE * (KILLED_FOR + 10) * 0.9, "the reporters kept their pace")
        self.assertEqual(refused, [], f"{len(refused)} of {len(answers)} POSTs got no 202")
        self.assertGreater(len(while_down), 10)
        self.assertEqual(not_ready, [], "/readyz while one broker of three was down")
        self.assertEqual(twice, {}, "reports stored twice")
        self.assertEqual(missing, [], "reports answered 202 missing from the topic")
        self.assertEqual(set(on_topic), accepted, "records on the topic that no POST was answered for")
        self.assertNotIn("kafka brokers unreachable", intake.log())

        # The aggregator rode out the failover: every window's final equals
        # the independent account of the topic, and no revision went down or
        # named two values.
        assert_results_exact(self, self.cluster.bootstrap, proto_modules(self.system.workdir), WINDOW_S)
        self.assertIsNone(aggregator.proc.poll(), aggregator.log()[-3000:])
        self.passed()


if __name__ == "__main__":
    unittest.main()
