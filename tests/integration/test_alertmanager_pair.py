"""Alertmanager as a pair, as deploy/compose and deploy/k8s ship it: two real
prometheus-alertmanager processes clustered by gossip (--cluster.listen-address,
--cluster.peer), ioc-alerter given both URLs, and one webhook receiver. An
alert fires and is notified; one Alertmanager is killed (SIGKILL) and the
alert resolves meanwhile: the resolution still reaches the receiver, through
the instance that is left, and the alerter reports the dead one as down."""

import json
import time
import unittest

from harness import free_port, http, metric, wait_until
from test_alerter import AlerterTestCase


PEER_TIMEOUT_S = 3


class AlertmanagerPairTest(AlerterTestCase):
    def start_clustered(self, port, gossip, peer_gossip):
        # The second instance waits peer-timeout for the first one's
        # notification log before notifying itself: 1 s was too short for
        # the gossip on a loaded machine (the firing alert went out twice).
        return self.launch_alertmanager(
            port, [f"--cluster.listen-address=127.0.0.1:{gossip}", f"--cluster.advertise-address=127.0.0.1:{gossip}",
                   f"--cluster.peer=127.0.0.1:{peer_gossip}", f"--cluster.peer-timeout={PEER_TIMEOUT_S}s",
                   "--cluster.gossip-interval=100ms", "--cluster.pushpull-interval=2s"])

    def cluster_size(self, port):
        status, _, body = http("GET", f"http://127.0.0.1:{port}/api/v2/status", timeout=2)
        return status == 200 and len(json.loads(body)["cluster"].get("peers") or [])

    def test_the_resolution_arrives_with_one_alertmanager_killed(self):
        ports = [free_port(), free_port()]
        gossip = [free_port(), free_port()]
        ams = [self.start_clustered(ports[0], gossip[0], gossip[1]),
               self.start_clustered(ports[1], gossip[1], gossip[0])]
        for p in ports:
            wait_until(lambda p=p: http("GET", f"http://127.0.0.1:{p}/-/ready", timeout=2)[0] == 200, 30,
                       f"alertmanager :{p} ready")
        for p in ports:
            wait_until(lambda p=p: self.cluster_size(p) == 2, 30, f"alertmanager :{p} sees its peer")

        urls = [f"http://127.0.0.1:{p}" for p in ports]
        alerter, port = self.start_alerter(ports[0], None, "--set", f"alerter.alertmanager.url={','.join(urls)}")
        w = self.window_start()
        self.result("380", "flood", w, 1, 12, samples=["r-1"])
        wait_until(lambda: self.webhook.alerts("firing", alertname="FloodReportSurge", district="380"), 30,
                   "the firing notification")
        # Both instances were told, each through its own queue.
        for p in ports:
            wait_until(lambda p=p: self.am_alerts(p, alertname="FloodReportSurge"), 30, f"the alert in :{p}")
        text = self.metrics(port)
        for u in urls:
            self.assertEqual(metric(text, "ioc_alerter_alertmanager_up", {"alertmanager": u}), 1, u)
            self.assertGreaterEqual(metric(text, "ioc_alerter_notifications_total",
                                           {"alertmanager": u, "outcome": "sent"}), 1, u)

        # The first instance dies; the alert resolves meanwhile. Not before
        # the second has passed its peer timeout: until then it may not have
        # heard (gossip) that the first notified, and would notify the
        # firing alert itself (Alertmanager's clustering is best effort).
        time.sleep(PEER_TIMEOUT_S + 1)
        ams[0].kill()
        ams[0].wait()
        self.result("380", "flood", w, 2, 1, final=True)
        resolved = wait_until(lambda: self.webhook.alerts("resolved", alertname="FloodReportSurge", district="380"),
                              60, "the resolution, through the instance that is left")
        self.assertEqual(resolved[0]["labels"]["severity"], "critical")
        wait_until(lambda: metric(self.metrics(port), "ioc_alerter_alertmanager_up", {"alertmanager": urls[0]}) == 0,
                   30, "the dead instance reported down")
        text = self.metrics(port)
        self.assertEqual(metric(text, "ioc_alerter_alertmanager_up", {"alertmanager": urls[1]}), 1)
        self.assertEqual(metric(text, "ioc_alerter_delivery_queue_depth", {"alertmanager": urls[1]}), 0)
        self.assertGreaterEqual(metric(text, "ioc_alerter_delivery_queue_depth", {"alertmanager": urls[0]}), 1,
                                "the dead instance's queue keeps the resolution for its return")
        # The receiver was notified of the firing alert once: the pair deduplicates.
        self.assertEqual(len(self.webhook.alerts("firing", alertname="FloodReportSurge", district="380")), 1)
        self.passed()


if __name__ == "__main__":
    unittest.main()
