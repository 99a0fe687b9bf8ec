"""Real Kafka, every broker down while reports flow, past every client timeout.

A 3-broker cluster (replication 3, min.insync.replicas 2) under ioc-intake,
ioc-aggregator, ioc-alerter and ioc-wall, with clients posting reports and
retrying what gets no 202 with the same Idempotency-Key. Every broker is
killed (kill -9) and started again after IOC_KAFKA_OUTAGE_S seconds (75:
longer than the group session, the intake's delivery timeout and the 30 s
after which the aggregator once gave up; set it higher for a longer run).
Then: no service exited; the aggregator, alerter and wall said not ready
during the outage (the intake stays ready: its spool takes reports); all
are ready again within 30 s of the brokers' return, by themselves; every
report answered 202 is on ioc.reports.v1 exactly once; every window's final
equals the independent account of the topic; and no result key's revision
went down or named two values."""

import os
import time

from harness import proto_modules, report_view, wait_until
from kafka_cluster import KafkaTestCase, ReportPoster, assert_results_exact, ids_on_topic, require_kafka

WINDOW_S = 10
OUTAGE_S = int(os.environ.get("IOC_KAFKA_OUTAGE_S", "75"))


@require_kafka
class KafkaOutageTest(KafkaTestCase):
    def test_every_broker_down_past_every_client_timeout(self):
        pb = proto_modules(self.system.workdir)
        intake = self.service("ioc-intake", "--set", "intake.rate_limit.per_ip=0",
                              "--set", f"intake.spool.dir={self.system.workdir}/spool")
        agg = self.service("ioc-aggregator", *report_view(window=f"{WINDOW_S}s", lateness="5s", ooo="1s", idle="2s"),
                           "--set", "aggregator.stats_interval=500ms", "--set", "aggregator.checkpoint_interval=1s")
        alerter = self.service("ioc-alerter", "--set", f"alerter.state_dir={self.system.workdir}/alerter-state")
        wall = self.service("ioc-wall")
        watched = {"ioc-aggregator": agg, "ioc-alerter": alerter, "ioc-wall": wall}

        poster = ReportPoster([intake.url], per_second=10, clients=3)
        poster.start()
        time.sleep(6)
        for i in range(self.BROKERS):
            self.kafka.kill(i)
        down = time.monotonic()
        not_ready = {}
        intake_answers = {}
        while time.monotonic() - down < OUTAGE_S:
            for name, svc in [*watched.items(), ("ioc-intake", intake)]:
                self.assertIsNone(svc.proc.poll(), f"{name} exited during the outage:\n{svc.log()[-3000:]}")
            for name, svc in watched.items():
                status, _, body = self.http_get(svc.url + "/readyz")
                if status == 503:
                    not_ready.setdefault(name, body)
            status = self.http_get(intake.url + "/readyz")[0]
            intake_answers[status] = intake_answers.get(status, 0) + 1
            time.sleep(1)
        self.assertEqual(sorted(not_ready), sorted(watched), f"said not ready during the outage: {not_ready}")

        for i in range(self.BROKERS):
            self.kafka.start_broker(i)
        back = time.monotonic()
        for name, svc in watched.items():
            wait_until(lambda: self.http_get(svc.url + "/readyz")[0] == 200, max(1, back + 30 - time.monotonic()),
                       f"{name} ready within 30 s of the brokers' return")
        recovered = time.monotonic() - back
        time.sleep(5)
        poster.stop()
        self.assertTrue(poster.accepted)

        on_topic = wait_until(lambda: (lambda c: c if all(i in c for i in poster.accepted) else None)(
            ids_on_topic(self.bootstrap, pb)), 120, "every accepted report on the topic")
        # A record in flight when the last broker died, failed by the client
        # when the brokers came back ("unknown partition" while they reload
        # their metadata), may have been stored: its spooled copy is sent, so
        # a report can be stored twice here (the results count what the
        # topic holds). One broker down must store none twice (test_kafka_brokers).
        stored_twice = {i: n for i, n in on_topic.items() if n != 1}

        expected, _ = assert_results_exact(self, self.bootstrap, pb, WINDOW_S)
        print(f"\noutage {OUTAGE_S}s: {len(poster.accepted)} reports accepted, not-202 answers {poster.attempts}, "
              f"intake /readyz during the outage {intake_answers}, every service ready {recovered:.1f}s after "
              f"the brokers' return, {len(expected)} windows exact, reports stored twice: {len(stored_twice)}")
        self.passed()

    @staticmethod
    def http_get(url):
        from harness import http
        try:
            return http("GET", url, timeout=5)
        except OSError as e:
            return (type(e).__name__, {}, "")
