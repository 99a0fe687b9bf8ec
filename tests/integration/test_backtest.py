"""The shipped rules over history, as their author checks them before
switching them on: `ioc-sim --history` writes 5 hours of the steady
province with a flood, a BTS outage and a portal outage placed 3.5 hours in,
then each feed late for a while (transactions at 4 h, telemetry at 4 h 25),
the real ioc-aggregator computes its views, and `ioc-alerter --backtest`
runs deploy/config/rules.yaml over the window results.

Asserted: the steady hours raise no alert at all (0 firing episodes, at most
5 pending ones for the whole province), and each scenario fires exactly its
expected alerts, in its own district or districts, within the delays the
README states, and they resolve within the stated delays after it ends.

The volume is cut to fit the embedded broker's retention (about 5 MB per
partition): ioc.aggregates.v1 gets 24 partitions, the aggregator computes
only the shipped views the shipped rules read (their definitions
unchanged), from 1 report/s and 162 BTS stations (6 a district) at 30
readings/s; the rules judge against each district's own level, so the
rates do not change what is asserted."""

RESULT_PARTITIONS = ["--set", "topics.partitions.ioc.aggregates.v1=24"]

import datetime
import json
import subprocess
import sys
import time
import os
import unittest

import yaml

from harness import BIN, CONFIG, DISTRICTS, SOURCE, SystemTestCase, free_port, rfc3339, wait_until

HISTORY = 5 * 3600
SCENARIOS_AT = 3 * 3600 + 30 * 60
FLOOD, OUTAGE = 20 * 60, 15 * 60
# Each feed's records delivered 3 hours late (the aggregator sets them aside as late).
LATE_TRANSACTIONS, LATE_TELEMETRY = (4 * 3600, 20 * 60), (4 * 3600 + 25 * 60, 10 * 60)
# README, "Alert rules", the stated delays (seconds): fire after the start, resolve after the end.
EXPECTED = {
    "FloodReportSurge": {"groups": {("386", "flood"), ("386", "landslide")}, "fire": 5 * 60, "resolve": 20 * 60,
                         "ends": FLOOD},
    "WaterLevelHigh": {"groups": {("386", "wl-386")}, "fire": 15 * 60, "resolve": 35 * 60, "ends": FLOOD},
    "BtsStationsDown": {"groups": {("391",)}, "fire": 11 * 60, "resolve": 3 * 60, "ends": OUTAGE},
    "OnlineApplicationsCollapse": {"groups": {(d,) for d in DISTRICTS}, "fire": 10 * 60, "resolve": 15 * 60,
                                   "ends": OUTAGE},
    # No station alert while the telemetry feed is out, nor as it comes back (silence_on: feed).
    "TransactionsFeedStale": {"groups": {()}, "at": LATE_TRANSACTIONS[0], "fire": 16 * 60, "resolve": 2 * 60,
                              "ends": LATE_TRANSACTIONS[1]},
    "TelemetryFeedStale": {"groups": {()}, "at": LATE_TELEMETRY[0], "fire": 6 * 60, "resolve": 2 * 60,
                           "ends": LATE_TELEMETRY[1]},
}


def views_the_rules_read(path):
    """deploy/config/views.yaml with only the views deploy/config/rules.yaml reads."""
    with open(os.path.join(SOURCE, "deploy/config/rules.yaml")) as f:
        read = {r["view"] for r in yaml.safe_load(f)["rules"]}
    with open(os.path.join(SOURCE, "deploy/config/views.yaml")) as f:
        views = yaml.safe_load(f)
    views["views"] = {name: v for name, v in views["views"].items() if name in read}
    with open(path, "w") as f:
        yaml.safe_dump(views, f)
    return path


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class BacktestTest(SystemTestCase):
    def run_tool(self, *argv, timeout=300):
        p = subprocess.run([f"{BIN}/{argv[0]}", *argv[1:]], capture_output=True, text=True, timeout=timeout)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        return p.stdout

    def test_the_shipped_rules_are_quiet_on_a_steady_day_and_fire_for_each_scenario(self):
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap, *RESULT_PARTITIONS)
        views = views_the_rules_read(os.path.join(self.system.workdir, "views.yaml"))
        agg_port = free_port()
        self.system.start("ioc-aggregator", "--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}",
                          "--set", f"http.listen=127.0.0.1:{agg_port}", "--set", f"aggregator.views={views}",
                          *RESULT_PARTITIONS, "--set", f"aggregator.state_dir={self.system.workdir}/aggregator").wait_http(
            f"http://127.0.0.1:{agg_port}/readyz", 60)
        kafka = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}", "--set", f"aggregator.views={views}",
                 *RESULT_PARTITIONS]
        out = self.run_tool("ioc-sim", *kafka, "--set", f"http.listen=127.0.0.1:{free_port()}",
                            "--set", "sim.stations=162", "--set", "sim.telemetry_per_second=30",
                            "--set", "sim.reports_per_second=1", "--history", f"{HISTORY}s",
                            "--scenarios", f"flood:386:{SCENARIOS_AT}s:{FLOOD}s,"
                                           f"bts-outage:391:{SCENARIOS_AT}s:{OUTAGE}s,"
                                           f"portal-outage::{SCENARIOS_AT}s:{OUTAGE}s,"
                                           f"late-data:transactions:{LATE_TRANSACTIONS[0]}s:{LATE_TRANSACTIONS[1]}s,"
                                           f"late-data:telemetry:{LATE_TELEMETRY[0]}s:{LATE_TELEMETRY[1]}s")
        last = out.strip().splitlines()[-1]
        self.assertTrue(last.startswith("history written: "), out)
        start = parse_time(last.split()[2])
        end = parse_time(last.split()[4].rstrip(","))
        self.assertAlmostEqual(end - start, HISTORY, delta=1)
        scenarios = start + SCENARIOS_AT

        # The aggregator has read it all when no input partition has records waiting.
        def caught_up():
            from urllib.request import urlopen
            text = urlopen(f"http://127.0.0.1:{agg_port}/metrics", timeout=5).read().decode()
            lags = [float(line.split()[-1]) for line in text.splitlines()
                    if line.startswith("ioc_aggregator_consumer_lag{")]
            return lags and max(lags) == 0
        wait_until(caught_up, 180, "the aggregator through the history")
        time.sleep(10)  # its last results on their way to ioc.aggregates.v1

        backtest = ["ioc-alerter", "--backtest", *kafka, "--format", "json"]
        steady = json.loads(self.run_tool(*backtest, "--to", rfc3339(scenarios)))
        self.assertEqual(steady["totals"]["firing_episodes"], 0, json.dumps(steady, indent=1))
        self.assertLessEqual(steady["totals"]["pending_never_fired"], 5, json.dumps(steady, indent=1))

        report = json.loads(self.run_tool(*backtest, "--from", rfc3339(scenarios), "--to", rfc3339(end)))
        print(json.dumps({"steady": steady["totals"], "scenarios": report}, indent=1), file=sys.stderr)
        rules = {r["rule"]: r for r in report["rules"]}
        for name, expected in EXPECTED.items():
            groups = rules[name]["groups"]
            got = {tuple(g["labels"].values()) for g in groups}
            self.assertEqual(got, expected["groups"], f"{name}: {json.dumps(rules[name], indent=1)}")
            for g in groups:
                self.assertEqual(g["firing_episodes"], 1, f"{name}: {g}")
                self.assertEqual(g["flaps"], 0, f"{name}: {g}")
                began = start + expected.get("at", SCENARIOS_AT)
                fired = parse_time(g["first_fire"]) - began
                self.assertLessEqual(fired, expected["fire"], f"{name} fired {fired:.0f} s after the start: {g}")
                self.assertFalse(g["still_firing"], f"{name}: {g}")
                resolved = parse_time(g["first_fire"]) + g["firing_seconds"] - (began + expected["ends"])
                self.assertLessEqual(resolved, expected["resolve"],
                                     f"{name} resolved {resolved:.0f} s after the end: {g}")
        # Station alerts of the outage's district only; nothing else at all.
        self.assertEqual({g["labels"]["district"] for g in rules["BtsStationSilent"]["groups"]
                          if g["firing_episodes"]}, {"391"})
        others = {r["rule"]: r["firing_episodes"] for r in report["rules"]
                  if r["rule"] not in EXPECTED and r["rule"] != "BtsStationSilent" and r["firing_episodes"]}
        self.assertEqual(others, {}, json.dumps(report, indent=1))
        self.passed()


if __name__ == "__main__":
    unittest.main()
