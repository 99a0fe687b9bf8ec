"""ioc-sim's scenarios through real processes: a flood in one district sends
its surge of flood and landslide reports through the intake and raises that
district's water level on the telemetry topic, read back with an independent
client."""

import unittest

from harness import (SystemTestCase, free_port, http, intake_args, metric, proto_modules, read_topic,
                     wait_until)


class SimScenarioTest(SystemTestCase):
    def test_flood_in_one_district(self):
        bootstrap = f"127.0.0.1:{free_port()}"
        self.start_broker(bootstrap)
        iport = free_port()
        self.system.start("ioc-intake", *intake_args(bootstrap, iport)).wait_http(f"http://127.0.0.1:{iport}/readyz")
        sport = free_port()
        sim = self.system.start("ioc-sim", "--config", intake_args(bootstrap, iport)[1],
                                "--set", f"kafka.bootstrap_servers={bootstrap}",
                                "--set", f"http.listen=127.0.0.1:{sport}", "--set", f"sim.intake=127.0.0.1:{iport}",
                                "--set", "sim.reports_per_second=1", "--set", "sim.telemetry_per_second=400",
                                "--scenario", "flood", "--district", "386", "--start", "0s", "--duration", "30s",
                                "--set", "sim.scenario.reports_per_second=5", "--seed", "3")
        sim.wait_http(f"http://127.0.0.1:{sport}/readyz")
        wait_until(lambda: (metric(http("GET", f"http://127.0.0.1:{sport}/metrics")[2], "ioc_sim_sent_total",
                                   {"stream": "scenario_reports", "outcome": "accepted"}) or 0) >= 20, 30,
                   "20 flood reports accepted by the intake")
        # Past the crest (halfway through the 30 s flood); a water level
        # station comes round once per pass over ~1,300 stations (~3 s).
        wait_until(lambda: (metric(http("GET", f"http://127.0.0.1:{sport}/metrics")[2], "ioc_sim_sent_total",
                                   {"stream": "telemetry", "outcome": "queued"}) or 0) >= 400 * 18, 40,
                   "18 s of telemetry")
        pb = proto_modules(self.system.workdir)
        reports = []
        for rec in read_topic(bootstrap, "ioc.reports.v1"):
            r = pb["report"].Report()
            r.ParseFromString(rec["value"])
            reports.append(r)
        surge = [r for r in reports if r.district == "386" and r.category in ("flood", "landslide")]
        self.assertGreaterEqual(len(surge), 20)
        import importlib
        telemetry_pb = importlib.import_module("ioc.v1.telemetry_pb2")
        levels = {}
        for rec in read_topic(bootstrap, "ioc.telemetry.v1"):
            t = telemetry_pb.Telemetry()
            t.ParseFromString(rec["value"])
            if t.source_id.startswith("wl-"):
                levels.setdefault(t.source_id, []).append(t.value)
        self.assertIn("wl-386", levels)
        # Near the crest the river is about 3.5 m above its usual 2.5 m; the
        # dry districts stay near 2.5 m.
        self.assertGreater(max(levels["wl-386"]), 4.5, levels["wl-386"])
        dry = [v for k, vs in levels.items() if k != "wl-386" for v in vs]
        self.assertLess(sum(dry) / len(dry), 3.0)
        self.passed()


if __name__ == "__main__":
    unittest.main()
