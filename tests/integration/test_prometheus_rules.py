"""Prometheus and Alertmanager configuration of deploy/: the rules about the
system's own health pass `promtool check rules` and their unit tests
(`promtool test rules`), every Prometheus config passes `promtool check
config`, every metric a rule reads is one the services export, and
Alertmanager's config passes `amtool check-config` and routes the system's
own alerts to the platform team only (`amtool config routes test`)."""

import glob
import os
import shutil
import subprocess
import tempfile
import unittest

import yaml

from harness import SOURCE
from metric_names import exported_metrics, series_names

PROM = os.path.join(SOURCE, "deploy/prometheus")
ALERTMANAGER_YML = os.path.join(SOURCE, "deploy/alertmanager/alertmanager.yml")
RULE_FILES = sorted(glob.glob(os.path.join(PROM, "rules/*.yml")))
RULE_TESTS = sorted(glob.glob(os.path.join(PROM, "tests/*_test.yml")))
# What the rules must watch (the alert names are the contract with runbooks).
REQUIRED_ALERTS = {"IocServiceDown", "IocConsumerLagGrowing", "IocDeadLettersRising", "IocIntakeSpoolNotDraining",
                   "IocAlertDeliveryFailing", "IocAlertDeliveryDown", "IocCheckpointsFailing"}


def run(argv, cwd=None):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd)


def rules():
    for path in RULE_FILES:
        with open(path, encoding="utf-8") as f:
            for group in yaml.safe_load(f)["groups"]:
                yield from group["rules"]


class PrometheusRulesTest(unittest.TestCase):
    def setUp(self):
        for tool in ("promtool", "amtool"):
            self.assertTrue(shutil.which(tool), f"{tool} is missing: run scripts/install-deps.sh")

    def test_rules_pass_promtool_and_their_unit_tests(self):
        self.assertTrue(RULE_FILES and RULE_TESTS)
        out = run(["promtool", "check", "rules", *RULE_FILES])
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        tested = set()
        for t in RULE_TESTS:
            out = run(["promtool", "test", "rules", os.path.basename(t)], cwd=os.path.dirname(t))
            self.assertEqual(out.returncode, 0, f"{t}\n{out.stdout}{out.stderr}")
            self.assertIn("SUCCESS", out.stdout)
            with open(t, encoding="utf-8") as f:
                for case in yaml.safe_load(f)["tests"]:
                    tested.update(a["alertname"] for a in case.get("alert_rule_test", []) if a.get("exp_alerts"))
        alerts = {r["alert"] for r in rules() if "alert" in r}
        self.assertLessEqual(REQUIRED_ALERTS, alerts)
        self.assertEqual(alerts - tested, set(), "every alert has a unit test in which it fires")

    def test_a_failing_expectation_fails_promtool(self):
        # The unit tests can fail: the same test with one expected label changed.
        t = RULE_TESTS[0]
        with open(t, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("severity: critical, source: ioc-self, job: ioc-intake", text)
        tmp = tempfile.mkdtemp()
        try:
            # The same layout in a scratch folder (the test names ../rules/).
            shutil.copytree(os.path.join(PROM, "rules"), os.path.join(tmp, "rules"))
            os.makedirs(os.path.join(tmp, "tests"))
            broken = os.path.join(tmp, "tests", os.path.basename(t))
            with open(broken, "w", encoding="utf-8") as f:
                f.write(text.replace("severity: critical, source: ioc-self, job: ioc-intake",
                                     "severity: warning, source: ioc-self, job: ioc-intake", 1))
            out = run(["promtool", "test", "rules", os.path.basename(broken)], cwd=os.path.dirname(broken))
            self.assertNotEqual(out.returncode, 0, out.stdout)
            self.assertIn("FAILED", out.stdout + out.stderr)
        finally:
            shutil.rmtree(tmp)

    def test_rules_read_only_metrics_the_services_export(self):
        known = exported_metrics()
        recorded = {r["record"] for r in rules() if "record" in r}
        for r in rules():
            for name in series_names(r["expr"]):
                self.assertIn(name, known | recorded, f"{r.get('alert') or r.get('record')}: unknown series {name}")
            if "alert" in r:
                self.assertEqual(r["labels"].get("source"), "ioc-self", r["alert"])
                self.assertIn(r["labels"].get("severity"), ("warning", "critical"), r["alert"])

    def test_prometheus_configs_are_valid(self):
        configs = [os.path.join(PROM, f) for f in ("prometheus.yml", "prometheus-compose.yml")]
        for c in configs:
            out = run(["promtool", "check", "config", c])
            self.assertEqual(out.returncode, 0, f"{c}\n{out.stdout}{out.stderr}")
            self.assertIn("rule files found", out.stdout, f"{c} loads the rules")
            with open(c, encoding="utf-8") as f:
                cfg = yaml.safe_load(f)
            jobs = {j["job_name"] for j in cfg["scrape_configs"]}
            self.assertLessEqual({"ioc-intake", "ioc-aggregator", "ioc-alerter", "ioc-wall"}, jobs, c)
        with open(configs[1], encoding="utf-8") as f:
            cfg = yaml.safe_load(f)
        targets = cfg["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
        self.assertEqual(len(targets), 2, "Prometheus sends to both Alertmanager instances")

    def test_alertmanager_inhibitions_are_the_rules_inhibits(self):
        # The alerter orders resolutions by the rules' `inhibits:`; Alertmanager
        # applies its inhibit_rules: both must say the same.
        import re
        with open(ALERTMANAGER_YML) as f:
            am = yaml.safe_load(f)
        from_am = set()
        for r in am.get("inhibit_rules", []):
            source = re.fullmatch(r'alertname="(\w+)"', r["source_matchers"][0]).group(1)
            targets = re.fullmatch(r'alertname=~?"([\w|]+)"', r["target_matchers"][0]).group(1).split("|")
            for t in targets:
                from_am.add((source, t, tuple(r.get("equal", []))))
        from_rules = set()
        with open(os.path.join(SOURCE, "deploy/config/rules.yaml")) as f:
            for rule in yaml.safe_load(f)["rules"]:
                inh = rule.get("inhibits", [])
                for i in inh if isinstance(inh, list) else [inh]:
                    from_rules.add((rule["name"], i["alertname"], tuple(i.get("equal", []))))
        self.assertEqual(from_am, from_rules)

    def test_alertmanager_config_and_routes(self):
        out = run(["amtool", "check-config", ALERTMANAGER_YML])
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)

        def routes(*labels):
            out = run(["amtool", "config", "routes", "test", f"--config.file={ALERTMANAGER_YML}", *labels])
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            return out.stdout.strip()

        for alert in REQUIRED_ALERTS:
            for severity in ("warning", "critical"):
                self.assertEqual(routes(f"alertname={alert}", f"severity={severity}", "source=ioc-self",
                                        "job=ioc-aggregator"), "ioc-platform", alert)
        # The province's alerts (from ioc-alerter) go where they went before.
        self.assertEqual(routes("alertname=FloodReportSurge", "severity=critical", "district=380"),
                         "ioc-leadership,ioc-operators")
        self.assertEqual(routes("alertname=BtsStationsDown", "severity=warning", "district=384"), "ioc-operators")
        # A wrong expectation is seen.
        out = run(["amtool", "config", "routes", "test", f"--config.file={ALERTMANAGER_YML}",
                   "--verify.receivers=ioc-operators", "alertname=IocServiceDown", "source=ioc-self"])
        self.assertNotEqual(out.returncode, 0)


if __name__ == "__main__":
    unittest.main()
