"""The Grafana dashboards of deploy/grafana against live data: the embedded
broker, intake, aggregator, alerter (sending to a stand-in Alertmanager),
wall and simulator run with the shipped settings, an independent client adds
the last two hours of transactions and telemetry (so hourly windows are
final), and the real Prometheus scrapes them all with the rules of
deploy/prometheus/rules. Every panel's every query, with the dashboard
variables filled in, must parse and return data through Prometheus' HTTP
API, and every metric it names must be one the services export."""

import glob
import json
import os
import random
import time
import unittest
import urllib.parse

from harness import (CONFIG, DISTRICTS, SOURCE, SystemTestCase, free_port, http, intake_args, produce, proto_modules,
                     wait_until)
from metric_names import exported_metrics, series_names
from test_alerter import Webhook

DASHBOARDS = sorted(glob.glob(os.path.join(SOURCE, "deploy/grafana/dashboards/*.json")))
VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "5m", "$district": ".*"}


def queries(dashboard):
    for p in dashboard["panels"]:
        for t in p.get("targets", []):
            yield p["title"], t["expr"]


def fill(expr):
    for k, v in VARIABLES.items():
        expr = expr.replace(k, v)
    return expr


class GrafanaDashboardsTest(SystemTestCase):
    def test_every_panel_query_returns_data(self):
        self.assertEqual(len(DASHBOARDS), 2)
        boards = {}
        for path in DASHBOARDS:
            with open(path, encoding="utf-8") as f:
                boards[os.path.basename(path)] = json.load(f)
        known = exported_metrics()
        for name, board in boards.items():
            self.assertTrue(board["uid"] and board["panels"], name)
            for title, expr in queries(board):
                for series in series_names(expr):
                    self.assertIn(series, known, f"{name} / {title}: {series} is not exported")

        am = Webhook()  # answers the alerter's POSTs with 200, as Alertmanager does
        self.addCleanup(am.close)
        bootstrap = f"127.0.0.1:{free_port()}"
        _, bport = self.start_broker(bootstrap)
        common = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}"]
        ports = {}
        ports["intake"] = free_port()
        self.system.start("ioc-intake", *intake_args(bootstrap, ports["intake"])).wait_http(
            f"http://127.0.0.1:{ports['intake']}/readyz")
        for svc, extra in (("aggregator", []),
                           ("alerter", ["--set", "alerter.rules=rules.yaml,rules-demo.yaml",
                                        "--set", f"alerter.state_dir={self.system.workdir}/alerter-state",
                                        "--set", f"alerter.alertmanager.url=http://127.0.0.1:{am.port}"]),
                           ("wall", [])):
            ports[svc] = free_port()
            self.system.start(f"ioc-{svc}", *common, "--set", f"http.listen=127.0.0.1:{ports[svc]}", *extra).wait_http(
                f"http://127.0.0.1:{ports[svc]}/healthz")
        ports["sim"] = free_port()
        self.system.start("ioc-sim", *common, "--set", f"http.listen=127.0.0.1:{ports['sim']}",
                          "--set", f"sim.intake=127.0.0.1:{ports['intake']}", "--set", "sim.reports_per_second=5",
                          "--scenario", "flood", "--district", DISTRICTS[0], "--start", "0s", "--seed", "7").wait_http(
            f"http://127.0.0.1:{ports['sim']}/readyz")

        # Two hours of history, so that hourly and 5-minute windows are final.
        pb = proto_modules(self.system.workdir)
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
        rnd = random.Random(5)
        now = int(time.time() * 1000)
        T, M = pb["transaction"].ServiceTransaction, pb["telemetry"].Telemetry
        for k, t in enumerate(range(now - 2 * 3600_000, now, 20_000)):
            for d in DISTRICTS[:6]:
                status = rnd.choice([T.STATUS_SUBMITTED, T.STATUS_COMPLETED, T.STATUS_OVERDUE])
                m = T(id=f"tx-{k}-{d}", district=d, service_code="1.001", service_level=T.SERVICE_LEVEL_FULL_ONLINE,
                      channel=T.CHANNEL_ONLINE if rnd.random() < 0.75 else T.CHANNEL_COUNTER, status=status,
                      processing_ms=0 if status == T.STATUS_SUBMITTED else rnd.randint(60_000, 9_000_000))
                m.occurred_at.FromMilliseconds(t)
                m.received_at.FromMilliseconds(t)
                produce(producer, "ioc.transactions.v1", m.SerializeToString(), key=d)
                for kind, sid, value in ((M.KIND_BTS_HEARTBEAT, f"bts-{d}-01", 1.0), (M.KIND_WATER_LEVEL, f"wl-{d}", 2.5),
                                         (M.KIND_RAINFALL, f"rain-{d}", 0.5)):
                    s = M(source_id=sid, district=d, kind=kind, value=value)
                    s.occurred_at.FromMilliseconds(t)
                    s.received_at.FromMilliseconds(t)
                    produce(producer, "ioc.telemetry.v1", s.SerializeToString(), key=d)
        produce(producer, "ioc.reports.v1", b"\x0a\x05ab", key="380")  # a poison record: a dead letter
        producer.flush(30)

        # The real Prometheus, scraping every service each second, with the rules.
        rules = os.path.join(SOURCE, "deploy/prometheus/rules/*.yml")
        jobs = {"ioc-broker": bport, **{f"ioc-{k}": v for k, v in ports.items()}}
        config = os.path.join(self.system.workdir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: ['{rules}']\n"
                    "scrape_configs:\n" + "".join(
                        f"  - job_name: {j}\n    static_configs: [{{targets: ['127.0.0.1:{p}']}}]\n"
                        for j, p in jobs.items()))
        pport = free_port()
        self.system.start_external(["prometheus", f"--config.file={config}",
                                    f"--storage.tsdb.path={self.system.workdir}/prometheus",
                                    f"--web.listen-address=127.0.0.1:{pport}"], "prometheus")
        api = f"http://127.0.0.1:{pport}/api/v1"

        def query(expr):
            status, _, body = http("GET", f"{api}/query?query={urllib.parse.quote(expr)}", timeout=10)
            return status, json.loads(body)

        # The district variable's values, as Grafana's label_values() asks them.
        match = urllib.parse.quote('ioc_view_value{view="reports_15m"}')
        wait_until(lambda: json.loads(http("GET", f"{api}/label/district/values?match[]={match}")[2])["data"], 180,
                   "districts for the dashboard variable")

        pending = {(name, title, fill(expr)) for name, board in boards.items() for title, expr in queries(board)}

        def remaining():
            for item in list(pending):
                status, body = query(item[2])
                self.assertEqual(status, 200, f"{item}: {body}")  # a query that does not parse fails at once
                self.assertEqual(body["status"], "success", item)
                if body["data"]["result"]:
                    pending.discard(item)
            return not pending

        try:
            wait_until(remaining, 240, "every panel's data")
        except AssertionError:
            self.fail("panels without data:\n" + "\n".join(f"{n} / {t}: {e}" for n, t, e in sorted(pending)))
        self.passed()


if __name__ == "__main__":
    unittest.main()
