"""ioc-topics on a real 3-broker Apache Kafka (the real-Kafka lane).

A real cluster learns of a new topic broker by broker: creation is done
only when every broker shows every topic, so a second run right after
prints `ok` for each and changes nothing. `--check` compares partitions,
replication and the configs the plan sets, names each difference, says how
to fix it, and never changes a topic itself. What the tool says is checked
against independent clients: confluent-kafka and the distribution's own
kafka-configs.sh / kafka-topics.sh."""

import os
import subprocess
import unittest

from harness import BIN, CONFIG, SystemTestCase, wait_until
from kafka_cluster import KAFKA_HOME, KafkaCluster, require_kafka

TOPICS = {  # deploy/config/ioc.yaml's plan: name -> (partitions, configs)
    "ioc.reports.v1": (6, {}),
    "ioc.report-status.v1": (3, {}),
    "ioc.transactions.v1": (6, {}),
    "ioc.telemetry.v1": (12, {}),
    "ioc.air-quality.v1": (6, {}),
    "ioc.aggregates.v1": (6, {"cleanup.policy": "compact"}),
    "ioc.alerts.v1": (3, {"cleanup.policy": "compact"}),
    "ioc.deadletter.v1": (3, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
    "ioc.aggregator.state.v1": (6, {"cleanup.policy": "compact"}),
}


def topic_configs(bootstrap, topic):
    from confluent_kafka.admin import AdminClient, ConfigResource
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)], request_timeout=10)
    return {k: v.value for k, v in list(futures.values())[0].result(timeout=15).items()}


@require_kafka
class KafkaTopicsTest(SystemTestCase):
    def setUp(self):
        super().setUp()
        self.cluster = None

    def tearDown(self):
        try:
            if self.cluster is not None:
                self.cluster.stop()
        finally:
            super().tearDown()

    def topics(self, *args):
        r = subprocess.run([f"{BIN}/ioc-topics", "--config", CONFIG,
                            "--set", f"kafka.bootstrap_servers={self.cluster.bootstrap}", *args],
                           capture_output=True, text=True, timeout=180)
        return r, r.stdout + r.stderr

    def kafka_tool(self, tool, *args):
        env = {**os.environ, "LOG_DIR": os.path.join(self.system.workdir, "tool-logs")}
        r = subprocess.run([os.path.join(KAFKA_HOME, "bin", tool), *args], capture_output=True, text=True,
                           timeout=120, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_create_twice_then_check_names_each_difference(self):
        self.cluster = KafkaCluster(self.system.workdir, brokers=3).start()
        bootstrap = self.cluster.bootstrap

        # A fresh cluster: every topic created, and shown by every broker when
        # the tool returns (no polling here: that is what it waited for).
        r, out = self.topics()
        self.assertEqual(r.returncode, 0, out)
        for name, (partitions, _) in TOPICS.items():
            self.assertIn(f"created  {name} ({partitions} partitions, replication cluster default", r.stdout, out)
        from confluent_kafka.admin import AdminClient
        for port in self.cluster.ports:
            md = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"}).list_topics(timeout=10)
            for name, (partitions, _) in TOPICS.items():
                self.assertIn(name, md.topics, f"broker at {port} does not show {name}:\n{out}")
                t = md.topics[name]
                self.assertEqual(len(t.partitions), partitions, name)
                self.assertTrue(all(len(p.replicas) == 3 and p.leader >= 0 for p in t.partitions.values()), name)
        for name, (_, configs) in TOPICS.items():
            actual = topic_configs(bootstrap, name)
            for k, v in configs.items():
                self.assertEqual(actual[k], v, f"{name} {k}")

        # A second run right after changes nothing and says so, topic by topic.
        r, out = self.topics()
        self.assertEqual(r.returncode, 0, out)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), len(TOPICS), out)
        for name in TOPICS:
            self.assertIn(f"ok       {name} (", r.stdout, out)
        r, out = self.topics("--check")
        self.assertEqual((r.returncode, len(r.stdout.splitlines())), (0, len(TOPICS)), out)
        self.assertNotIn("created", r.stdout)

        # Change the cluster behind the plan's back, with Kafka's own tools.
        zk = f"127.0.0.1:{self.cluster.zk_port}"
        self.kafka_tool("kafka-configs.sh", "--zookeeper", zk, "--alter", "--entity-type", "topics",
                        "--entity-name", "ioc.alerts.v1", "--add-config", "cleanup.policy=delete")
        self.kafka_tool("kafka-configs.sh", "--zookeeper", zk, "--alter", "--entity-type", "topics",
                        "--entity-name", "ioc.deadletter.v1", "--add-config", "retention.ms=604800000")
        self.kafka_tool("kafka-topics.sh", "--bootstrap-server", bootstrap, "--alter", "--topic",
                        "ioc.report-status.v1", "--partitions", "4")
        # A topic of the plan made by hand with one replica (the plan says
        # the cluster's default, 3).
        self.kafka_tool("kafka-topics.sh", "--bootstrap-server", bootstrap, "--create", "--topic", "ioc.extra.v1",
                        "--partitions", "2", "--replication-factor", "1")
        wait_until(lambda: topic_configs(bootstrap, "ioc.alerts.v1")["cleanup.policy"] == "delete", 30,
                   "cleanup.policy=delete on ioc.alerts.v1")
        wait_until(lambda: len(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
                               .topics["ioc.report-status.v1"].partitions) == 4, 30, "4 partitions")

        r, out = self.topics("--check", "--set", "topics.partitions.ioc.extra.v1=2")
        self.assertEqual(r.returncode, 1, out)
        for line in ["differs  ioc.alerts.v1: cleanup.policy=delete, expected compact",
                     "differs  ioc.deadletter.v1: retention.ms=604800000, expected 2592000000",
                     "differs  ioc.report-status.v1: 4 partitions, expected 3",
                     "differs  ioc.extra.v1: replication 1, expected 3 (the cluster's default.replication.factor)",
                     f"fix      ioc.alerts.v1: kafka-configs.sh --bootstrap-server {bootstrap} --alter "
                     "--entity-type topics --entity-name ioc.alerts.v1 --add-config cleanup.policy=compact",
                     "ok       ioc.aggregates.v1 (6 partitions, replication cluster default, cleanup.policy=compact)"]:
            self.assertIn(line, r.stdout.splitlines(), out)
        self.assertEqual(len([line for line in r.stdout.splitlines() if line.startswith("differs ")]), 4, out)
        # An explicit replication is compared too.
        r, out = self.topics("--check", "--set", "topics.replication_factor=2")
        self.assertEqual(r.returncode, 1, out)
        self.assertIn("differs  ioc.reports.v1: replication 3, expected 2", r.stdout.splitlines(), out)
        # --check changed nothing.
        self.assertEqual(topic_configs(bootstrap, "ioc.alerts.v1")["cleanup.policy"], "delete")

        # More replicas than brokers: refused before anything is created, naming the count.
        r, out = self.topics("--set", "topics.replication_factor=4", "--set", "topics.partitions.ioc.extra2.v1=1")
        self.assertEqual(r.returncode, 2, out)
        self.assertIn("topics.replication_factor: replication 4 is more than the 3 broker(s) the cluster has", r.stderr)
        self.assertNotIn("ioc.extra2.v1", AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics)
        self.passed()


if __name__ == "__main__":
    unittest.main()
