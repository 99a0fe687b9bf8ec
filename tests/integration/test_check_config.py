"""`--check-config`: every service validates its settings and the files they
name, then exits without touching the network: 0 and "configuration OK",
or 2 with the file, key and what is allowed."""

import os
import subprocess
import unittest

from harness import BIN, CONFIG

SERVICES = ["ioc-broker", "ioc-intake", "ioc-aggregator", "ioc-sim", "ioc-topics", "ioc-wall"]


def check(name, *args):
    return subprocess.run([os.path.join(BIN, name), "--config", CONFIG, "--check-config", *args],
                          capture_output=True, text=True, timeout=30)


class CheckConfigTest(unittest.TestCase):
    def test_the_shipped_configuration_is_valid_for_every_service(self):
        for name in SERVICES:
            out = check(name, "--set", "kafka.bootstrap_servers=127.0.0.1:1")  # never dialled
            self.assertEqual(out.returncode, 0, f"{name}: {out.stderr}")
            self.assertIn(f"{name}: configuration OK (27 districts, 10 categories)", out.stdout)

    def test_errors_name_the_setting_and_what_is_allowed(self):
        cases = [
            ("ioc-intake", ["--set", "intake.max_age=soon"], "intake.max_age"),
            ("ioc-intake", ["--set", "intake.auth.keys_file=/nonexistent/keys.yaml"], "cannot read the keys file"),
            ("ioc-aggregator", ["--set", "aggregator.views=/nonexistent/views.yaml"], "cannot read the views file"),
            ("ioc-aggregator", ["--set", "aggregator.peers=http://agg-2:port"], "aggregator.peers"),
            ("ioc-sim", ["--set", "sim.scenario.kind=tsunami"], "allowed: flood, bts-outage, portal-outage, late-data"),
            ("ioc-sim", ["--set", "sim.scenario.kind=bts-outage"], "needs a district code"),
            ("ioc-broker", ["--set", "registry.districts=/nonexistent.yaml"], "/nonexistent.yaml"),
            ("ioc-topics", ["--set", "topics.default_partitions=0"], "topics.default_partitions"),
            ("ioc-wall", ["--set", "kpi.online_target=1.5"], "kpi.online_target"),
            ("ioc-alerter", ["--set", "alerter.summary.utc_offset=7"], "alerter.summary.utc_offset"),
            ("ioc-wall", ["--set", "wall.sse.keepalive=often"], "wall.sse.keepalive"),
        ]
        for name, args, expected in cases:
            out = check(name, *args)
            self.assertEqual(out.returncode, 2, f"{name} {args}: {out.stdout}{out.stderr}")
            self.assertIn(expected, out.stderr, f"{name} {args}")


if __name__ == "__main__":
    unittest.main()
