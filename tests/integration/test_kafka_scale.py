"""The scale-out scenario of test_aggregator_scale on a real 3-broker Kafka
(replication 3, min.insync.replicas 2): replicas of ioc-aggregator go
1 -> 3 -> 1 with a kill -9 in between while more than 100k reports,
transactions and telemetry records stream in; every default view's finals
and latest revisions equal the separately written oracle (oracle.py), every
poison and late record is in the dead letters with its reason, and no result
key's revision goes down or names two values."""

import json
import sys

import test_aggregator_scale as scale
from kafka_cluster import KafkaTestCase, require_kafka


@require_kafka
class KafkaScaleTest(KafkaTestCase):
    TOPIC_ARGS = tuple(scale.TOPIC_ARGS)

    def test_scale_out_and_crash(self):
        # 45 s of stream instead of 75 (the same 28 h of event time): the
        # lane's time goes to the brokers, whose clients are slower to join.
        scale.TICKS = 900
        scenario = scale.Scenario(self, self.system, 0)
        scenario.execute(bootstrap=self.bootstrap)
        sys.stderr.write(f"\nkafka scale run: {'PASS' if not scenario.failures else 'FAIL'} "
                         f"{json.dumps(scenario.summary, sort_keys=True)}\n")
        for failure in scenario.failures:
            sys.stderr.write(f"  {failure}\n")
        self.assertEqual(scenario.failures, [])
        self.passed()
