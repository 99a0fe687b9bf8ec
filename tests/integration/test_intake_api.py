"""ioc-intake as reporters' apps meet it: the spool that keeps what the broker
cannot take (through a kill -9), Open311 GeoReport v2 with API keys and a
SIGHUP reload, idempotent retries across a restart, operator updates in the
status lookup, rate limits and request ids. Checked with independent clients
(urllib, python3-confluent-kafka)."""

import concurrent.futures
import hashlib
import json
import os
import signal
import time
import unittest
import urllib.parse
import uuid

from harness import (SystemTestCase, free_port, http, intake_args, metric, proto_modules, read_topic, report_body,
                     wait_until)

REPORTS = "ioc.reports.v1"


def keys_yaml(*keys):
    lines = ["keys:"]
    for name, key, scopes in keys:
        lines.append(f"  - {{name: {name}, sha256: {hashlib.sha256(key.encode()).hexdigest()}, "
                     f"scopes: [{', '.join(scopes)}]}}")
    return "\n".join(lines) + "\n"


class IntakeApiTest(SystemTestCase):
    def start_intake(self, bootstrap, *more, wait_broker=True):
        port = free_port()
        svc = self.system.start("ioc-intake", *intake_args(bootstrap, port, *more))
        svc.wait_http(f"http://127.0.0.1:{port}/readyz")
        base = f"http://127.0.0.1:{port}"
        if wait_broker:
            # Keyed requests get 503 "starting" until the stored reports' keys are read back.
            wait_until(lambda: (lambda d: d["broker_connected"] and d["report_index_ready"])(
                json.loads(http("GET", f"{base}/readyz")[2])), 30, "intake connected, its keys read back")
        return svc, base

    def report_ids_on_topic(self, bootstrap):
        pb = proto_modules(self.system.workdir)["report"]
        ids = []
        for rec in read_topic(bootstrap, REPORTS):
            r = pb.Report()
            r.ParseFromString(rec["value"])
            ids.append(r.id)
        return ids

    def test_spool_keeps_every_report_through_a_broker_outage_and_an_intake_kill_9(self):
        n = 300
        bootstrap = f"127.0.0.1:{free_port()}"
        broker, _ = self.start_broker(bootstrap)
        intake, base = self.start_intake(bootstrap, "--set", "intake.delivery_timeout=1s",
                                         "--set", "intake.rate_limit.per_ip=0")
        broker.kill9()
        wait_until(lambda: not json.loads(http("GET", f"{base}/readyz")[2])["broker_connected"], 30,
                   "intake to see the broker gone")

        def submit(i):
            status, _, body = http("POST", f"{base}/api/v1/reports", report_body(district_of(i)))
            return status, json.loads(body)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(submit, range(n)))
        self.assertEqual({s for s, _ in answers}, {202}, answers[:3])
        self.assertEqual({b["status"] for _, b in answers}, {"queued"})
        ids = sorted(b["id"] for _, b in answers)
        status, _, body = http("GET", f"{base}/readyz")
        self.assertEqual(status, 200, body)  # it can still take reports
        self.assertEqual(json.loads(body)["spool_depth"], n)
        wait_until(lambda: metric(http("GET", f"{base}/metrics")[2], "ioc_intake_spool_depth") == n, 10,
                   "spool depth in /metrics")
        self.assertEqual(metric(http("GET", f"{base}/metrics")[2], "ioc_intake_reports_total", {"outcome": "queued"}), n)

        intake.kill9()
        # The intake comes back first, with the broker still away: it must
        # find its spool and be ready to take more.
        intake, base = self.start_intake(bootstrap, "--set", "intake.rate_limit.per_ip=0", wait_broker=False)
        self.assertEqual(json.loads(http("GET", f"{base}/readyz")[2])["spool_depth"], n)
        status, _, body = http("GET", f"{base}/api/v1/reports/{ids[0]}")
        self.assertEqual((status, json.loads(body)["status"]), (200, "queued"), body)
        self.start_broker(bootstrap)
        wait_until(lambda: json.loads(http("GET", f"{base}/readyz")[2])["spool_depth"] == 0, 60, "spool replayed")

        on_topic = self.report_ids_on_topic(bootstrap)
        self.assertEqual(len(on_topic), n, "no report lost, none duplicated")
        self.assertEqual(sorted(on_topic), ids)
        status, _, body = http("GET", f"{base}/api/v1/reports/{ids[0]}")
        self.assertEqual(json.loads(body)["status"], "delivered")
        self.passed()

    def test_open311_with_api_keys_reload_and_operator_updates(self):
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap)
        keys = os.path.join(self.system.workdir, "keys.yaml")
        with open(keys, "w") as f:
            f.write(keys_yaml(("field-app", "app-key-1", ["submit", "read"]), ("wall", "wall-key-1", ["read"])))
        intake, base = self.start_intake(bootstrap, "--set", f"intake.auth.keys_file={keys}",
                                         "--set", "log.level=debug")
        o311 = f"{base}/open311/v2"

        # Discovery is public.
        status, _, body = http("GET", f"{o311}/services.json")
        self.assertEqual(status, 200)
        services = json.loads(body)
        self.assertIn("flood", [s["service_code"] for s in services])
        for s in services:
            self.assertLessEqual({"service_code", "service_name", "description", "metadata", "type", "keywords",
                                  "group"}, set(s))
        status, _, body = http("GET", f"{o311}/services/flood.json")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["attributes"][0]["code"], "district")
        status, _, body = http("GET", f"{o311}/services/volcano.json")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body)[0]["code"], 404)

        # A form-encoded request, as the spec sends it.
        form = {"api_key": "app-key-1", "service_code": "flood", "lat": "19.8067", "long": "105.7852",
                "address_string": "12 Lê Lợi", "description": "Nước ngập 50cm", "email": "a@example.org",
                "attribute[district]": "380", "media_url": "https://example.org/a.jpg", "address_id": "TH-380-0012",
                "attribute[WHISPAWN]": "123456"}  # the spec's own example attribute
        status, headers, body = http("POST", f"{o311}/requests.json", urllib.parse.urlencode(form),
                                     "application/x-www-form-urlencoded", headers={"X-Request-Id": "it-req-311"})
        self.assertEqual(status, 201, body)
        self.assertEqual(headers.get("X-Request-Id"), "it-req-311")
        (created,) = json.loads(body)
        rid = created["service_request_id"]
        # JSON works as well; errors come in the spec's format.
        status, _, body = http("POST", f"{o311}/requests.json",
                               json.dumps({"service_code": "flood", "lat": 19.8, "long": "east",
                                           "attribute": {"district": "380"}}),
                               headers={"X-API-Key": "app-key-1"})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)[0], {"code": 400, "description": json.loads(body)[0]["description"]})
        self.assertTrue(json.loads(body)[0]["description"].startswith("long: must be a decimal number"), body)

        # Keys and scopes.
        status, headers, body = http("POST", f"{o311}/requests.json", urllib.parse.urlencode({**form, "api_key": "x"}),
                                     "application/x-www-form-urlencoded")
        self.assertEqual(status, 403)  # GeoReport v2: "403 - Invalid api_key"
        self.assertEqual(json.loads(body)[0]["code"], 403)
        status, _, body = http("POST", f"{base}/api/v1/reports", report_body(), headers={"X-API-Key": "wall-key-1"})
        self.assertEqual(status, 403)
        self.assertIn("lacks the scope 'submit'", json.loads(body)["message"])
        status, _, body = http("GET", f"{o311}/requests/{rid}.json", headers={"X-API-Key": "wall-key-1"})
        self.assertEqual(status, 200, body)
        (got,) = json.loads(body)
        self.assertEqual((got["service_code"], got["status"], got["address"], got["address_id"], got["lat"]),
                         ("flood", "open", "12 Lê Lợi", "TH-380-0012", 19.8067))
        status, _, body = http("GET", f"{base}/api/v1/reports/{rid}", headers={"X-API-Key": "app-key-1"})
        self.assertEqual(json.loads(body)["attributes"], {"WHISPAWN": "123456"}, body)
        self.assertEqual(http("GET", f"{o311}/requests/{rid}.json")[0], 401)  # intake.open311.public_read is off
        status, _, body = http("GET", f"{o311}/requests.json?service_code=flood&status=open&api_key=wall-key-1")
        self.assertEqual(status, 200, body)
        self.assertIn(rid, [r["service_request_id"] for r in json.loads(body)])

        # A new key works after SIGHUP, without a restart.
        with open(keys, "w") as f:
            f.write(keys_yaml(("field-app", "app-key-1", ["submit", "read"]), ("ops", "ops-key-2", ["read"])))
        intake.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: http("GET", f"{base}/api/v1/reports/{rid}", headers={"X-API-Key": "ops-key-2"})[0] == 200,
                   10, "the reloaded key")
        self.assertEqual(http("GET", f"{base}/api/v1/reports/{rid}", headers={"X-API-Key": "wall-key-1"})[0], 401)

        # An operator closes it on ioc.report-status.v1.
        from confluent_kafka import Producer
        pb = proto_modules(self.system.workdir)["report"]
        update = pb.ReportStatus(report_id=rid, status="resolved", note="water pumped out", operator_id="op-7",
                                 agency="Đội cứu hộ")
        update.updated_at.FromSeconds(int(time.time()))
        p = Producer({"bootstrap.servers": bootstrap})
        p.produce("ioc.report-status.v1", key=rid.encode(), value=update.SerializeToString())
        p.flush(10)

        def closed():
            s, _, b = http("GET", f"{o311}/requests/{rid}.json", headers={"X-API-Key": "ops-key-2"})
            return json.loads(b)[0] if s == 200 and json.loads(b)[0]["status"] == "closed" else None
        got = wait_until(closed, 20, "the operator's update")
        self.assertEqual((got["status_notes"], got["agency_responsible"]), ("water pumped out", "Đội cứu hộ"))

        # Every log line about a request carries its id.
        self.assertTrue(any('"request_id":"it-req-311"' in line for line in intake.log().splitlines()))
        self.passed()

    def test_a_retry_after_an_intake_restart_gets_the_original_answer(self):
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap)
        intake, base = self.start_intake(bootstrap)
        key = {"Idempotency-Key": f"phone-7-{uuid.uuid4()}"}
        body = report_body("395", "landslide")
        status, _, first = http("POST", f"{base}/api/v1/reports", body, headers=key)
        self.assertEqual(status, 202, first)
        intake.kill9()
        intake, base = self.start_intake(bootstrap)
        # The restarted intake learns the key back from the topic.
        status, headers, again = wait_until(
            lambda: (lambda r: r if r[1].get("Idempotent-Replayed") else None)(
                http("POST", f"{base}/api/v1/reports", body, headers=key)), 20, "the replayed answer")
        self.assertEqual(status, 202)
        self.assertEqual(json.loads(again)["id"], json.loads(first)["id"])
        self.assertEqual(self.report_ids_on_topic(bootstrap), [json.loads(first)["id"]])
        self.passed()

    def test_a_retry_at_another_replica_is_recognised_when_replicas_follow_each_other(self):
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap)
        follow = ("--set", "intake.idempotency.follow_replicas=true")
        a = self.system.start("ioc-intake", *intake_args(bootstrap, port_a := free_port(), *follow,
                                                         "--set", "intake.spool.dir=spool-a"))
        b = self.system.start("ioc-intake", *intake_args(bootstrap, port_b := free_port(), *follow,
                                                         "--set", "intake.spool.dir=spool-b"))
        for svc, port in ((a, port_a), (b, port_b)):
            svc.wait_http(f"http://127.0.0.1:{port}/readyz")
            wait_until(lambda: json.loads(http("GET", f"http://127.0.0.1:{port}/readyz")[2])["report_index_ready"],
                       30, "index ready")
        key = {"Idempotency-Key": f"phone-9-{uuid.uuid4()}"}
        body = report_body("401", "fire")
        status, _, first = http("POST", f"http://127.0.0.1:{port_a}/api/v1/reports", body, headers=key)
        self.assertEqual(status, 202, first)
        # A phone retries after its own timeout, by which time replica b has
        # read a's report from the topic (a retry within that propagation
        # delay, typically under a second, is not recognised: see README).
        rid = json.loads(first)["id"]
        wait_until(lambda: http("GET", f"http://127.0.0.1:{port_b}/api/v1/reports/{rid}")[0] == 200, 20,
                   "replica b to learn replica a's report")
        status, headers, again = http("POST", f"http://127.0.0.1:{port_b}/api/v1/reports", body, headers=key)
        self.assertEqual((status, headers.get("Idempotent-Replayed")), (202, "true"), again)
        self.assertEqual(json.loads(again)["id"], json.loads(first)["id"])
        self.assertEqual(self.report_ids_on_topic(bootstrap), [json.loads(first)["id"]])
        self.passed()

    def test_a_report_id_names_one_report(self):
        """Regression (D2, D3, D4): another client under a taken id, the same
        client id without a key or with another key, and a reused key with
        another body after a restart were all stored."""
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap)
        keys = os.path.join(self.system.workdir, "keys.yaml")
        with open(keys, "w") as f:
            f.write(keys_yaml(("field-app", "app-key-1", ["submit", "read"]), ("other-app", "other-key-1", ["submit"])))
        auth = ("--set", f"intake.auth.keys_file={keys}")
        intake, base = self.start_intake(bootstrap, *auth)
        url = f"{base}/api/v1/reports"
        app, other = {"X-API-Key": "app-key-1"}, {"X-API-Key": "other-key-1"}

        # D2: another client's report under a taken id.
        u = str(uuid.uuid4())
        status, _, first = http("POST", url, report_body("395", "fire", id=u), headers=app)
        self.assertEqual((status, json.loads(first)["id"]), (202, u), first)
        status, _, body = http("POST", url, report_body("380", "flood", id=u), headers=other)
        self.assertEqual((status, json.loads(body)["error"]), (409, "id_taken"), body)

        # D3: the client's own id with a key, without, with another: one report.
        v = str(uuid.uuid4())
        same = report_body("401", "fire", id=v)
        answers = [http("POST", url, same, headers={**app, **k})
                   for k in ({"Idempotency-Key": "k-first"}, {}, {"Idempotency-Key": "k-second"})]
        self.assertEqual([a[0] for a in answers], [202, 202, 202], answers)
        self.assertEqual([json.loads(a[2])["id"] for a in answers], [v, v, v])
        self.assertEqual([a[1].get("Idempotent-Replayed") for a in answers], [None, "true", "true"])

        # D4: a key reused for another report, after a restart.
        key = {**app, "Idempotency-Key": f"k-{uuid.uuid4()}"}
        status, _, keyed = http("POST", url, report_body("380", "fire"), headers=key)
        self.assertEqual(status, 202, keyed)
        intake.kill9()
        intake, base = self.start_intake(bootstrap, *auth)
        url = f"{base}/api/v1/reports"
        status, _, body = http("POST", url, report_body("380", "landslide"), headers=key)
        self.assertEqual((status, json.loads(body)["error"]), (422, "idempotency_key_reused"), body)
        status, _, body = http("POST", url, report_body("395", "flood", id=u), headers=other)
        self.assertEqual((status, json.loads(body)["error"]), (409, "id_taken"), "after the restart too")

        on_topic = self.report_ids_on_topic(bootstrap)
        self.assertEqual(sorted(on_topic), sorted([u, v, json.loads(keyed)["id"]]))
        self.passed()

    def test_a_retry_while_the_broker_is_frozen_after_an_intake_restart_is_stored_once(self):
        """Regression (D1): the restarted intake could not read the keys back
        and stored the retry under a new id."""
        bootstrap = f"127.0.0.1:{free_port()}"
        broker, _ = self.start_broker(bootstrap)
        intake, base = self.start_intake(bootstrap, "--set", "intake.delivery_timeout=1s")
        key = {"Idempotency-Key": "freeze-1"}
        body = report_body("395", "fire")
        status, _, first = http("POST", f"{base}/api/v1/reports", body, headers=key)
        self.assertEqual(status, 202, first)
        broker.proc.send_signal(signal.SIGSTOP)
        try:
            intake.kill9()
            intake, base = self.start_intake(bootstrap, "--set", "intake.delivery_timeout=1s", wait_broker=False)
            status, _, again = wait_until(
                lambda: (lambda r: r if r[0] == 202 else None)(http("POST", f"{base}/api/v1/reports", body,
                                                                   headers=key)), 60, "the retry accepted")
            self.assertEqual(json.loads(again)["id"], json.loads(first)["id"], "one id, whoever answers")
        finally:
            broker.proc.send_signal(signal.SIGCONT)
        wait_until(lambda: json.loads(http("GET", f"{base}/readyz")[2]).get("spool_depth", 0) == 0, 60,
                   "the spool settled")
        self.assertEqual(self.report_ids_on_topic(bootstrap), [json.loads(first)["id"]], "stored once")
        skipped = metric(http("GET", f"{base}/metrics")[2], "ioc_intake_spool_skipped_total")
        self.assertEqual(skipped, 1, "the spooled retry was found on the topic")
        self.passed()

    def test_a_spool_replay_cut_by_kill_9_stores_each_report_once(self):
        """Regression (D5): records the replayer delivered but had not
        acknowledged in the spool when the intake died were sent again."""
        n = 5000
        bootstrap = f"127.0.0.1:{free_port()}"
        broker, _ = self.start_broker(bootstrap)
        args = ("--set", "intake.rate_limit.per_ip=0", "--set", "intake.delivery_timeout=1s")
        intake, base = self.start_intake(bootstrap, *args)
        broker.kill9()
        wait_until(lambda: not json.loads(http("GET", f"{base}/readyz")[2])["broker_connected"], 30,
                   "intake to see the broker gone")
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda i: http("POST", f"{base}/api/v1/reports", report_body(district_of(i))),
                                    range(n)))
        self.assertEqual({a[0] for a in answers}, {202})
        ids = sorted(json.loads(a[2])["id"] for a in answers)
        self.start_broker(bootstrap)
        # Killed mid-replay: some records on the topic, the spool's cursor behind them.
        wait_until(lambda: json.loads(http("GET", f"{base}/readyz")[2])["spool_depth"] < n - 600, 60,
                   "the replay under way")
        intake.kill9()
        intake, base = self.start_intake(bootstrap, *args)
        wait_until(lambda: json.loads(http("GET", f"{base}/readyz")[2])["spool_depth"] == 0, 120, "spool replayed")
        on_topic = self.report_ids_on_topic(bootstrap)
        self.assertEqual(len(on_topic), n, "no report lost, none stored twice")
        self.assertEqual(sorted(on_topic), ids)
        self.passed()

    def test_rate_limit_per_address(self):
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap)
        _, base = self.start_intake(bootstrap, "--set", "intake.rate_limit.per_ip=1",
                                    "--set", "intake.rate_limit.per_ip_burst=3")
        codes = [http("POST", f"{base}/api/v1/reports", report_body())[0] for _ in range(3)]
        self.assertEqual(codes, [202, 202, 202])
        status, headers, body = http("POST", f"{base}/api/v1/reports", report_body())
        self.assertEqual(status, 429, body)
        self.assertEqual(headers.get("Retry-After"), "1")
        self.assertEqual(json.loads(body)["error"], "rate_limited")
        self.assertTrue(headers.get("X-Request-Id"))
        self.passed()


def district_of(i):
    return ["380", "381", "382", "395", "401"][i % 5]


if __name__ == "__main__":
    unittest.main()
