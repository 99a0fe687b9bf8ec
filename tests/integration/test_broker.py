"""ioc-broker: independent Kafka clients (kcat, python3-confluent-kafka)
against the stable bootstrap address, and the retention watch that makes the
mock's silent pruning visible."""

import subprocess
import unittest

from harness import SystemTestCase, free_port, http, metric, produce, wait_until

TOPIC = "retention.test"


class BrokerTest(SystemTestCase):
    def setUp(self):
        super().setUp()
        self.bootstrap = f"127.0.0.1:{free_port()}"
        self.broker, self.http_port = self.start_broker(
            self.bootstrap, "--set", f"broker.extra_topics={TOPIC}", "--set", f"topics.partitions.{TOPIC}=1",
            "--set", "broker.watch_groups=lagger,kcat-group", "--set", "broker.monitor_interval=300ms")

    def metrics(self):
        return http("GET", f"http://127.0.0.1:{self.http_port}/metrics")[2]

    def test_kcat_group_and_python_clients(self):
        # The project's topics exist with their partitions.
        listing = subprocess.run(["kcat", "-b", self.bootstrap, "-L"], capture_output=True, text=True, timeout=30)
        self.assertIn('topic "ioc.reports.v1" with 6 partitions', listing.stdout)
        self.assertIn('topic "ioc.telemetry.v1" with 12 partitions', listing.stdout)
        lines = "".join(f"k{i}:v{i}\n" for i in range(20))
        subprocess.run(["kcat", "-b", self.bootstrap, "-P", "-t", "ioc.alerts.v1", "-K:"], input=lines, text=True,
                       check=True, timeout=30)
        got = subprocess.run(["kcat", "-b", self.bootstrap, "-G", "kcat-group", "-o", "beginning", "-e",
                              "-f", "%k=%s\n", "ioc.alerts.v1"], capture_output=True, text=True, timeout=60)
        self.assertEqual(sorted(got.stdout.split()), sorted(f"k{i}=v{i}" for i in range(20)))
        # The group's commits are visible on the broker's /metrics.
        wait_until(lambda: sum(metric(self.metrics(), "ioc_broker_group_committed_offset",
                                      {"group": "kcat-group", "topic": "ioc.alerts.v1", "partition": str(p)}) or 0
                               for p in range(3)) == 20, 30, "kcat-group commits on /metrics")

        from confluent_kafka import Consumer, Producer
        p = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True})
        for i in range(5):
            p.produce("ioc.deadletter.v1", key=b"380", value=b"py%d" % i)
        self.assertEqual(p.flush(15), 0)
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "py-group", "auto.offset.reset": "earliest"})
        c.subscribe(["ioc.deadletter.v1"])
        values = []

        def drain():
            m = c.poll(0.5)
            if m is not None and not m.error():
                values.append(m.value())
            return len(values) >= 5
        wait_until(drain, 60, "python consumer group to read 5 records")
        c.close()
        self.assertEqual(sorted(values), [b"py%d" % i for i in range(5)])
        self.passed()

    def test_group_behind_log_start_is_reported(self):
        from confluent_kafka import Consumer, Producer, TopicPartition
        # "lagger" read one record and committed, then stopped consuming.
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "lagger", "enable.auto.commit": False})
        p = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 20})
        p.produce(TOPIC, value=b"first")
        p.flush(15)
        c.commit(offsets=[TopicPartition(TOPIC, 0, 1)], asynchronous=False)
        c.close()
        # ~8 MB into one partition: more than the ~5 MB the embedded broker keeps.
        payload = b"x" * 200
        for i in range(40000):
            produce(p, TOPIC, payload)
        self.assertEqual(p.flush(60), 0)

        # The broker samples offsets every few seconds: a sample taken while
        # the records were still arriving shows an earlier end. Wait for the
        # one taken after the last, and read everything from that sample.
        def loss():
            text = self.metrics()
            labels = {"topic": TOPIC, "partition": "0"}
            start = metric(text, "ioc_broker_log_start_offset", labels)
            end = metric(text, "ioc_broker_log_end_offset", labels)
            events = metric(text, "ioc_broker_group_offset_below_log_start_total", {"group": "lagger", **labels})
            pruned = metric(text, "ioc_broker_group_records_pruned_unread", {"group": "lagger", **labels})
            return (start, events, pruned) if start and start > 1 and events and end == 40001 else None
        start, events, pruned = wait_until(loss, 30, "the retention watch to flag group lagger at the log's end")
        self.assertGreaterEqual(events, 1)
        self.assertEqual(pruned, start - 1)
        self.assertIn("consumer group fell behind retention", self.broker.log())
        self.assertIn('"group":"lagger"', self.broker.log())
        self.passed()


if __name__ == "__main__":
    unittest.main()
