"""Topics on a cluster: ioc-topics checks (and creates, where the cluster
supports CreateTopics) the planned topics, and a service refuses to start
when a topic it uses is missing, instead of letting automatic topic creation
make it with one partition."""

import subprocess
import unittest

from harness import BIN, CONFIG, SystemTestCase, free_port


class TopicsTest(SystemTestCase):
    def run_tool(self, name, *args):
        return subprocess.run([f"{BIN}/{name}", "--config", CONFIG, "--set",
                               f"kafka.bootstrap_servers={self.bootstrap}", *args],
                              capture_output=True, text=True, timeout=60)

    def test_plan_check_and_start_check(self):
        self.bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(self.bootstrap)
        # What ioc-broker created is what the plan says; running it again changes nothing.
        # It has no DescribeConfigs: configs are not compared, and it says so
        # instead of failing.
        for _ in range(2):
            r = self.run_tool("ioc-topics")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            lines = r.stdout.splitlines()
            self.assertEqual(lines[9:], ["note     configs and replication not checked "
                                         "(the broker does not support DescribeConfigs)"], r.stdout)
            self.assertTrue(all(line.startswith("ok ") for line in lines[:9]), r.stdout)
        self.assertIn("ok       ioc.aggregates.v1 (6 partitions, replication cluster default, cleanup.policy=compact)",
                      r.stdout)
        r = self.run_tool("ioc-topics", "--check", "--set", "topics.partitions.ioc.reports.v1=12")
        self.assertEqual(r.returncode, 1)
        self.assertIn("differs  ioc.reports.v1: 6 partitions, expected 12", r.stdout)
        # The embedded broker has no controller: creating is refused with the reason.
        r = self.run_tool("ioc-topics", "--set", "topics.partitions.ioc.extra.v1=2", "--set", "topics.timeout=1s")
        self.assertEqual(r.returncode, 1)
        self.assertIn("create topics", r.stdout)

        r = subprocess.run([f"{BIN}/ioc-topics", "--help"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0)
        for documented in ("--check", "Exit codes", "topics.replication_factor", "must not exceed the number of brokers"):
            self.assertIn(documented, r.stdout)

        r = self.run_tool("ioc-aggregator", "--set", "aggregator.deadletter_topic=ioc.nowhere.v1",
                          "--set", f"http.listen=127.0.0.1:{free_port()}")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("missing topic(s) ioc.nowhere.v1: create them first with ioc-topics", r.stderr)
        self.passed()


if __name__ == "__main__":
    unittest.main()
