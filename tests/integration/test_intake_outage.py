"""ioc-intake without a spool while the broker is away: 503 with Retry-After and a not-ready
/readyz (nothing is acknowledged that was not stored), then recovery when a
broker is back at the same bootstrap address."""

import json
import time
import unittest

from harness import CONFIG, SystemTestCase, free_port, http, wait_until


class IntakeOutageTest(SystemTestCase):
    def test_503_while_broker_is_down_then_recovers(self):
        bootstrap = f"127.0.0.1:{free_port()}"
        broker, _ = self.start_broker(bootstrap)
        port = free_port()
        self.system.start("ioc-intake", "--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}",
                          "--set", f"http.listen=127.0.0.1:{port}", "--set", "intake.delivery_timeout=2s",
                          "--set", "intake.retry_after=7s",
                          "--set", "intake.spool.dir=").wait_http(f"http://127.0.0.1:{port}/readyz")
        url = f"http://127.0.0.1:{port}/api/v1/reports"

        def post():
            body = {"category": "fire", "district": "395",
                    "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            return http("POST", url, json.dumps(body))
        self.assertEqual(post()[0], 202)

        self.assertEqual(broker.stop(), 0)
        status, headers, body = wait_until(lambda: (lambda r: r if r[0] == 503 else None)(post()), 30,
                                           "503 while the broker is down")
        self.assertEqual(headers.get("Retry-After"), "7")
        self.assertEqual(json.loads(body)["error"], "broker_unavailable")
        status, _, body = http("GET", f"http://127.0.0.1:{port}/readyz")
        self.assertEqual(status, 503)
        self.assertIn("unreachable", json.loads(body)["reason"])

        self.start_broker(bootstrap)
        wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/readyz")[0] == 200, 60, "intake ready again")
        wait_until(lambda: post()[0] == 202, 30, "202 once the broker is back")
        self.passed()


if __name__ == "__main__":
    unittest.main()
