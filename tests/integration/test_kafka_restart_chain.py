"""Real Kafka: a partition's identity survives restarts that read nothing.

Regression: a restored partition that wrote a checkpoint without new input
(a window closing on a quiet partition) stored the identity of its last
record as zeros; the next restart, or a replica joining, judged its log
"replaced", restored it as lost, read it again from offset 0 and published
revisions from 1 again. The chain: records on every partition, then none;
restart (restored); the windows turn final by the quiet-partition rule;
restart again; add a second replica. No partition is ever restored as
lost, and no result key's revision goes down or names two values."""

import json
import time

from harness import DISTRICTS, http, metric, proto_modules, read_topic, report_view, revision_violations, wait_until
from kafka_cluster import KafkaTestCase, require_kafka

PARTITIONS = 6


@require_kafka
class KafkaRestartChainTest(KafkaTestCase):
    def aggregator(self):
        return self.service("ioc-aggregator", *report_view(window="5s", lateness="1s", ooo="0s", idle="2s",
                                                           emit="{mode: both, interval: 500ms}"),
                            "--set", "aggregator.checkpoint_interval=500ms",
                            "--set", "kafka.properties.session.timeout.ms=6000",
                            "--set", "kafka.properties.heartbeat.interval.ms=1000")

    @staticmethod
    def states(svc):
        """Partition -> the states it was assigned with, from the replica's log."""
        out = {}
        for line in svc.log().splitlines():
            if '"partition assigned"' in line:
                e = json.loads(line)
                out.setdefault(e["partition"], []).append(e["state"])
        return out

    def test_restart_quiet_final_restart_and_a_new_replica(self):
        pb = proto_modules(self.system.workdir)
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True})
        now = time.time()
        for p in range(PARTITIONS):
            for i in range(5):
                r = pb["report"].Report(id=f"c-{p}-{i}", district=DISTRICTS[p], category="flood")
                r.occurred_at.FromMilliseconds(int((now - 1) * 1000))
                producer.produce("ioc.reports.v1", r.SerializeToString(), DISTRICTS[p].encode(), partition=p)
        self.assertEqual(producer.flush(30), 0)

        first = self.aggregator()
        accepted = lambda svc: metric(http("GET", svc.url + "/metrics")[2], "ioc_aggregator_events_total",  # noqa: E731
                                      {"outcome": "accepted"})
        wait_until(lambda: accepted(first) == 5 * PARTITIONS, 60, "every record read")
        self.assertEqual(first.stop(), 0)

        # Restored, then quiet: the windows close by the quiet-partition rule
        # and the partitions are checkpointed without new input.
        second = self.aggregator()
        self.assertEqual({p: s[-1] for p, s in self.states(second).items()}, {p: "restored" for p in range(PARTITIONS)})

        def finals():
            n = 0
            r = pb["window_result"].WindowResult()
            for rec in read_topic(self.bootstrap, "ioc.aggregates.v1"):
                r.ParseFromString(rec["value"])
                n += r.final
            return n
        wait_until(lambda: finals() >= PARTITIONS, 60, "a final for every partition's window")
        time.sleep(2)  # checkpoints of the quiet partitions
        self.assertEqual(second.stop(), 0)

        third = self.aggregator()
        joined = self.aggregator()  # a second replica: the group rebalances
        wait_until(lambda: sum(len(s) for s in self.states(joined).values()) > 0, 60, "the new replica's partitions")
        states = [s for svc in (third, joined) for ss in self.states(svc).values() for s in ss]
        self.assertNotIn("lost", states, f"partitions restored as lost: {self.states(third)} {self.states(joined)}")
        for svc in (third, joined):
            self.assertNotIn("the input log was replaced", svc.log())
        down, twice = revision_violations(read_topic(self.bootstrap, "ioc.aggregates.v1"),
                                          pb["window_result"].WindowResult)
        self.assertEqual((down[:5], twice[:5]), ([], []))
        self.passed()
