"""A view query that asks peers does not hold up the aggregator's HTTP
loop: with peers that accept connections and never answer, /metrics and
/readyz still answer at once while the query waits, and the query ends at
its deadline naming the silent peers."""
import json
import socket
import threading
import time
import unittest

from harness import CONFIG, SystemTestCase, free_port, http


class SilentPeer:
    """Accepts connections, reads nothing, answers nothing."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()


class ViewPeersTest(SystemTestCase):
    def test_silent_peers_do_not_stall_metrics_or_readiness(self):
        s = self.system
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap)
        peers = [SilentPeer(), SilentPeer()]
        self.addCleanup(lambda: [p.close() for p in peers])
        aport = free_port()
        base = f"http://127.0.0.1:{aport}"
        urls = ",".join(f"http://127.0.0.1:{p.port}" for p in peers)
        agg = s.start("ioc-aggregator", "--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}",
                      "--set", f"http.listen=127.0.0.1:{aport}", "--set", f"aggregator.peers={urls}")
        agg.wait_http(f"{base}/readyz", timeout=60)

        answer = {}

        def query():
            started = time.monotonic()
            answer["status"], _, answer["body"] = http("GET", f"{base}/api/v1/views/reports_1m", timeout=30)
            answer["seconds"] = time.monotonic() - started

        q = threading.Thread(target=query)
        q.start()
        # Wait until the query is pending: both peers hold a connection.
        deadline = time.monotonic() + 10
        while sum(len(p.held) for p in peers) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(sum(len(p.held) for p in peers), 2, "the view query did not reach the peers")
        for path in ("/metrics", "/readyz"):
            started = time.monotonic()
            status, _, _ = http("GET", f"{base}{path}", timeout=10)
            took = time.monotonic() - started
            self.assertEqual(status, 200, path)
            self.assertLess(took, 1.0, f"{path} waited {took:.2f}s behind the view query")
        self.assertTrue(q.is_alive(), "the view query should still wait for its peers")
        q.join(30)
        self.assertEqual(answer.get("status"), 200, answer)
        body = json.loads(answer["body"])
        self.assertEqual(sorted(e["peer"] for e in body["peer_errors"]),
                         sorted(f"http://127.0.0.1:{p.port}" for p in peers))
        self.assertTrue(all(e["status"] == 504 for e in body["peer_errors"]), body["peer_errors"])
        # One deadline (aggregator.peer_timeout, 2 s) for all peers together.
        self.assertLess(answer["seconds"], 3.5, answer)
        self.assertIn("windows", body)
        self.passed()


if __name__ == "__main__":
    unittest.main()
