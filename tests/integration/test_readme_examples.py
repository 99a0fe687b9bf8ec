"""The README's examples run as written (against services on test ports):
a documented command that fails is a defect like any other."""

import json
import os
import re
import subprocess
import unittest

from harness import CONFIG, SOURCE, SystemTestCase, free_port


def readme_blocks(starting_with):
    with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
        text = f.read()
    return [b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if b.lstrip().startswith(starting_with)]


class ReadmeExamplesTest(SystemTestCase):
    def test_submitting_a_report(self):
        blocks = readme_blocks("curl -s -XPOST localhost:8080/api/v1/reports")
        self.assertEqual(len(blocks), 1, "the README's report example")
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap)
        port = free_port()
        self.system.start("ioc-intake", "--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}",
                          "--set", f"http.listen=127.0.0.1:{port}").wait_http(f"http://127.0.0.1:{port}/readyz")
        script = blocks[0].replace("localhost:8080", f"127.0.0.1:{port}")
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        body = json.loads(out.stdout)
        self.assertEqual((body["status"], body["district"], body["category"]), ("accepted", "380", "flood"), body)
        self.passed()


if __name__ == "__main__":
    unittest.main()
