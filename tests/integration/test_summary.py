"""The leadership summary through the real services: ioc-broker,
ioc-aggregator (the view transactions_24h, hopping 24 h advancing 1 h) and
ioc-alerter. Transactions with event times inside today's local day
(+07:00) are produced by an independent client; GET /api/v1/summary for
that date must show each district's figures as the test counts them
itself, against the KPI targets (section `kpi:`), with the day's alert
episode; the printable page shows the same; a restart of the alerter keeps
the day (its KPI ledger in state_dir)."""

import datetime
import html
import json
import os
import random
import time
import unittest

from harness import CONFIG, SystemTestCase, free_port, http, produce, proto_modules, wait_until

VIEWS = """views:
  transactions_24h:
    source: transactions
    group_by: [district]
    window: {hopping: 24h, advance: 1h}
    allowed_lateness: 1m
    out_of_orderness: 0s
    idle_timeout: 1s
    emit: {mode: both, interval: 200ms}
    aggregations:
      - count
      - {name: online, count_where: {channel: online}}
      - {name: completed, count_where: {status: completed}}
      - {name: overdue, count_where: {status: overdue}}
    ratios:
      online_ratio: [online, count]
      overdue_ratio: [overdue, [completed, overdue]]
"""

RULES = """rules:
  - name: OverdueApplicationsPileUp
    view: transactions_24h
    value: overdue
    fire: ">= 5"
    clear: "< 1"
    severity: warning
    category: publicService
    sub_category: overdueApplications
    cap_category: Other
    annotations: {summary: "{{value}} overdue applications in {{district_name}} <today>"}
    scenario: Ask {{district_name}} to clear its overdue applications.
"""

OFFSET = datetime.timedelta(hours=7)
ONLINE_TARGET, OVERDUE_TARGET = 0.80, 0.05  # kpi: in deploy/config/ioc.yaml


class SummaryTest(SystemTestCase):
    def write(self, name, text):
        path = os.path.join(self.system.workdir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def start_alerter(self, port, state_dir, views, rules, bootstrap):
        alerter = self.system.start(
            "ioc-alerter", "--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}",
            "--set", f"http.listen=127.0.0.1:{port}", "--set", f"alerter.rules={rules}",
            "--set", f"alerter.views={views}", "--set", "alerter.alertmanager.url=",
            "--set", "alerter.evaluation_interval=200ms", "--set", "alerter.checkpoint_interval=500ms",
            "--set", f"alerter.state_dir={state_dir}")
        alerter.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
        return alerter

    def test_the_days_kpis_and_episodes_as_json_and_page(self):
        pb = proto_modules(self.system.workdir)
        views = self.write("views.yaml", VIEWS)
        rules = self.write("rules.yaml", RULES)
        state_dir = os.path.join(self.system.workdir, "alerter-state")
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap)
        agg_port = free_port()
        aggregator = self.system.start("ioc-aggregator", "--config", CONFIG, "--set",
                                       f"kafka.bootstrap_servers={bootstrap}", "--set",
                                       f"http.listen=127.0.0.1:{agg_port}", "--set", f"aggregator.views={views}",
                                       "--set", "aggregator.checkpoint_interval=500ms")
        aggregator.wait_http(f"http://127.0.0.1:{agg_port}/readyz", timeout=60)
        port = free_port()
        alerter = self.start_alerter(port, state_dir, views, rules, bootstrap)

        # Today's local day, from its midnight up to a minute ago (a day just
        # begun waits for its second minute).
        def local_now():
            return datetime.datetime.now(datetime.timezone.utc) + OFFSET
        while local_now().hour == 0 and local_now().minute < 2:
            time.sleep(1)
        now = datetime.datetime.now(datetime.timezone.utc)
        local = now + OFFSET
        date = local.strftime("%Y-%m-%d")
        midnight = datetime.datetime(local.year, local.month, local.day, tzinfo=datetime.timezone.utc) - OFFSET
        span_ms = int((now - midnight).total_seconds() * 1000) - 60_000
        start_ms = int(midnight.timestamp() * 1000)

        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        T = pb["transaction"].ServiceTransaction
        rng = random.Random(7)
        # district: (applications, online share, completed, overdue); 380 misses both targets
        # and piles up overdue applications (an alert), 381 meets both, 382 only closed ones.
        plan = {"380": (40, 0.5, 20, 8), "381": (30, 0.9, 25, 1), "382": (12, 1.0, 12, 0)}
        expected = {}
        n = 0
        for district, (apps, online_share, completed, overdue) in plan.items():
            online = round(apps * online_share)
            statuses = [T.STATUS_COMPLETED] * completed + [T.STATUS_OVERDUE] * overdue
            statuses += [T.STATUS_SUBMITTED] * (apps - len(statuses))
            rng.shuffle(statuses)
            counts = {"count": 0, "online": 0, "completed": 0, "overdue": 0}
            for i, status in enumerate(statuses):
                channel = T.CHANNEL_ONLINE if i < online else T.CHANNEL_COUNTER
                t = T(id=f"tx-{n}", district=district, service_code="1.000046", channel=channel, status=status)
                n += 1
                at = start_ms + rng.randrange(0, max(span_ms, 1))
                t.occurred_at.FromMilliseconds(at)
                t.received_at.FromMilliseconds(at)
                produce(producer, "ioc.transactions.v1", t.SerializeToString(), district.encode())
                counts["count"] += 1
                counts["online"] += channel == T.CHANNEL_ONLINE
                counts["completed"] += status == T.STATUS_COMPLETED
                counts["overdue"] += status == T.STATUS_OVERDUE
            expected[district] = counts
        producer.flush(10)

        url = f"http://127.0.0.1:{port}/api/v1/summary?date={date}"

        def summary_with_all():
            status, _, body = http("GET", url)
            self.assertEqual(status, 200, body)
            s = json.loads(body)
            got = {d["district"]: d for d in s["districts"] if d["reported"]}
            if any(got.get(k, {}).get("applications") != v["count"] for k, v in expected.items()):
                return None
            return s if s["episodes"] else None
        s = wait_until(summary_with_all, 60, "the day's figures and its episode in the summary")

        self.assertEqual(s["date"], date)
        self.assertEqual(s["utc_offset"], "+07:00")
        self.assertEqual(s["targets"], {"online_rate": ONLINE_TARGET, "overdue_ratio": OVERDUE_TARGET})
        self.assertEqual(len(s["districts"]), 27)  # every district of the registry, reported or not
        by = {d["district"]: d for d in s["districts"]}
        self.assertEqual(by["380"]["name"], "Thành phố Thanh Hóa")
        for district, c in expected.items():
            d = by[district]
            online_rate = c["online"] / c["count"]
            closed = c["completed"] + c["overdue"]
            overdue_ratio = c["overdue"] / closed
            self.assertEqual((d["applications"], d["online"], d["completed"], d["overdue"]),
                             (c["count"], c["online"], c["completed"], c["overdue"]), district)
            self.assertAlmostEqual(d["online_rate"], online_rate, places=9)
            self.assertAlmostEqual(d["overdue_ratio"], overdue_ratio, places=9)
            self.assertEqual(d["meets_online"], online_rate >= ONLINE_TARGET, district)
            self.assertEqual(d["meets_overdue"], overdue_ratio <= OVERDUE_TARGET, district)
            self.assertFalse(d["complete"], "today is not over: the day so far")
        self.assertEqual(by["380"]["meets_online"], False)
        self.assertEqual(by["381"]["meets_online"], True)
        self.assertIsNone(by["385"]["online_rate"])  # nothing reported: unknown, not a miss
        total = sum(c["count"] for c in expected.values())
        self.assertEqual(s["province"]["applications"], total)
        self.assertAlmostEqual(s["province"]["online_rate"], sum(c["online"] for c in expected.values()) / total)
        self.assertFalse(s["complete"])
        self.assertEqual([(e["rule"], e["labels"]["district"]) for e in s["episodes"]],
                         [("OverdueApplicationsPileUp", "380")])
        episode = s["episodes"][0]
        self.assertIn("overdue applications in", episode["peak"])
        self.assertEqual(http("GET", f"http://127.0.0.1:{port}{episode['link']}")[0], 200)

        # The printable page: the same figures, escaped, no scripts.
        for path in (f"/api/v1/summary.html?date={date}", f"/summary?date={date}"):
            status, headers, page = http("GET", f"http://127.0.0.1:{port}{path}")
            self.assertEqual(status, 200)
            self.assertTrue(headers["Content-Type"].startswith("text/html"), headers)
            self.assertNotIn("<script", page)
            self.assertIn("@media print", page)
            self.assertIn(html.escape("Thành phố Thanh Hóa"), page)
            for c in expected.values():
                self.assertIn(f"{100 * c['online'] / c['count']:.1f}%", page)
                self.assertIn(f"{100 * c['overdue'] / (c['completed'] + c['overdue']):.1f}%", page)
            self.assertIn("OverdueApplicationsPileUp", page)
            self.assertIn("&lt;today&gt;", page)
            self.assertNotIn("<today>", page)

        # Precise errors for the date.
        for query, reason in (("", "required"), ("?date=2024-02-30", "not a day"), ("?date=today", "YYYY-MM-DD")):
            status, _, body = http("GET", f"http://127.0.0.1:{port}/api/v1/summary{query}")
            self.assertEqual(status, 400, body)
            err = json.loads(body)["errors"][0]
            self.assertEqual(err["field"], "date")
            self.assertIn(reason, err["reason"])

        # A restart keeps the day: the ledger is in state_dir.
        self.assertEqual(alerter.stop(), 0)
        self.assertTrue(os.path.exists(os.path.join(state_dir, "kpi.ledger")))
        self.start_alerter(port, state_dir, views, rules, bootstrap)
        status, _, body = http("GET", url)
        self.assertEqual(status, 200)
        again = {d["district"]: d["applications"] for d in json.loads(body)["districts"] if d["reported"]}
        self.assertEqual(again, {k: v["count"] for k, v in expected.items()})
        self.passed()


if __name__ == "__main__":
    unittest.main()
