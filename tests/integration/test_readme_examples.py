"""The README's examples run as written (against services on test ports):
a documented command that fails is a defect like any other."""

import json
import os
import re
import subprocess
import unittest

from harness import CONFIG, SOURCE, SystemTestCase, free_port, wait_until, http


def readme_blocks(containing):
    with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
        text = f.read()
    return [b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if containing in b]


class ReadmeExamplesTest(SystemTestCase):
    def test_every_intake_example(self):
        """Every `sh` block that talks to the intake, in order, as one script
        (later blocks use variables set by earlier ones). Each command must
        succeed and print JSON."""
        blocks = readme_blocks("localhost:8080/")
        self.assertGreaterEqual(len(blocks), 4, "the README's intake examples")
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap)
        port = free_port()
        self.system.start("ioc-intake", "--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}",
                          "--set", f"http.listen=127.0.0.1:{port}").wait_http(f"http://127.0.0.1:{port}/readyz")
        wait_until(lambda: json.loads(http("GET", f"http://127.0.0.1:{port}/readyz")[2])["broker_connected"], 30,
                   "intake connected")
        # One answer per line (curl prints bodies without a newline).
        script = "set -eo pipefail\n" + "\n".join(blocks).replace("localhost:8080", f"127.0.0.1:{port}").replace(
            "curl -s ", "curl -s -w '\\n' ")
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, f"{script}\n{out.stderr}")
        outputs = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]  # every answer is JSON
        submitted = [o for o in outputs if isinstance(o, dict) and o.get("status") == "accepted"]
        self.assertTrue(submitted, outputs)
        self.assertEqual((submitted[0]["district"], submitted[0]["category"]), ("380", "flood"))
        looked_up = [o for o in outputs if isinstance(o, dict) and o.get("delivery") == "delivered"]
        self.assertTrue(looked_up, outputs)
        open311 = [o for o in outputs if isinstance(o, list) and o and "service_request_id" in o[0]]
        self.assertTrue(open311, outputs)
        self.passed()


if __name__ == "__main__":
    unittest.main()
