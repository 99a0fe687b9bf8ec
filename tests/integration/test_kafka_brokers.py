"""Real Kafka, a rolling restart of all three brokers (SIGTERM, start, wait
until every replica is in sync again) while reports flow through ioc-intake
and ioc-aggregator. (A kill -9 of the leading broker is
test_kafka_intake_failover.)

With replication 3 and min.insync.replicas 2 the cluster never stops taking
writes, so: every POST gets a 202 (clients retry with the same
Idempotency-Key what gets none), every report answered 202 is on
ioc.reports.v1 exactly once, every window's final equals the independent
account of the topic, and no result key's revision goes down or names two
values."""

import time

from harness import proto_modules, report_view, wait_until
from kafka_cluster import KafkaTestCase, ReportPoster, assert_results_exact, ids_on_topic, require_kafka

WINDOW_S = 10


@require_kafka
class KafkaBrokersTest(KafkaTestCase):
    def test_a_rolling_restart_under_load(self):
        pb = proto_modules(self.system.workdir)
        intake = self.service("ioc-intake", "--set", "intake.rate_limit.per_ip=0",
                              "--set", f"intake.spool.dir={self.system.workdir}/spool")
        aggregator_args = [*report_view(window=f"{WINDOW_S}s", lateness="30s", ooo="2s", idle="5s"),
                           "--set", "aggregator.checkpoint_interval=1s", "--set", "aggregator.stats_interval=500ms",
                           "--set", "kafka.properties.session.timeout.ms=10000"]
        agg = self.service("ioc-aggregator", *aggregator_args)
        poster = ReportPoster([intake.url], per_second=20, clients=6)
        poster.start()
        time.sleep(8)

        # One broker at a time, each back in sync before the next.
        phases = {}
        started = time.monotonic()
        for i in range(self.BROKERS):
            self.kafka.stop_broker(i)
            self.kafka.start_broker(i)
            for topic in ("ioc.reports.v1", "ioc.aggregates.v1", "ioc.aggregator.state.v1"):
                wait_until(lambda: self.kafka.in_sync(topic), 120, f"{topic} in sync after broker {i}'s restart")
        phases["rolling_restart_s"] = round(time.monotonic() - started, 1)
        time.sleep(5)
        poster.stop()
        self.assertTrue(poster.accepted)
        self.assertIsNone(agg.proc.poll(), f"the aggregator exited:\n{agg.log()[-3000:]}")

        on_topic = wait_until(lambda: (lambda c: c if all(i in c for i in poster.accepted) else None)(
            ids_on_topic(self.bootstrap, pb)), 120, "every accepted report on the topic")
        self.assertEqual({i: n for i, n in on_topic.items() if n != 1}, {}, "reports stored more than once")

        expected, dead = assert_results_exact(self, self.bootstrap, pb, WINDOW_S)
        print(f"\nbrokers: {phases}; {len(poster.accepted)} reports accepted, answers other than 202 "
              f"(retried): {poster.attempts}; {len(expected)} windows exact; {len(dead)} dead letters")
        self.passed()
