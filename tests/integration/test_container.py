"""The container image and the Compose file, checked without a container
engine (none runs on the test machines).

deploy/docker/Dockerfile is parsed and held to its rules: every stage FROM a
pinned Debian 12 point release, multi-stage, built with the project's own
install and build scripts, a non-root USER in the final stage, a HEALTHCHECK
on /healthz at the port the services listen on, every COPY source present in
the repository and not excluded by its .dockerignore; its entry point is run
against the built binaries. deploy/compose/docker-compose.yml must pass
`docker-compose config` (Debian's docker-compose) and hold the cluster it
promises: 3 KRaft brokers, replication 3, min.insync.replicas 2, topics from
a one-shot ioc-topics, two aggregators, an Alertmanager pair, Prometheus and
Grafana with their files present."""

import fnmatch
import os
import re
import shutil
import subprocess
import unittest

import yaml

from harness import BIN, CONFIG, SOURCE

DOCKERFILE = os.path.join(SOURCE, "deploy/docker/Dockerfile")
IGNORE = DOCKERFILE + ".dockerignore"
ENTRYPOINT = os.path.join(SOURCE, "deploy/docker/entrypoint.sh")
COMPOSE = os.path.join(SOURCE, "deploy/compose/docker-compose.yml")
SERVICES = ["intake", "aggregator", "alerter", "wall", "topics", "sim", "broker"]


def instructions(path):
    """[(stage index, INSTRUCTION, arguments)] with continuations joined."""
    out, stage, buf = [], -1, ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not buf and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.endswith("\\"):
                buf += line[:-1] + " "
                continue
            buf += line
            word, _, rest = buf.strip().partition(" ")
            if word.upper() == "FROM":
                stage += 1
            out.append((stage, word.upper(), rest.strip()))
            buf = ""
    return out


def ignored(rel):
    """Whether the build context leaves `rel` out (last matching pattern wins)."""
    with open(IGNORE, encoding="utf-8") as f:
        patterns = [p.strip() for p in f if p.strip() and not p.startswith("#")]
    result = False
    for p in patterns:
        neg = p.startswith("!")
        pat = p[1:] if neg else p
        pat = pat.rstrip("/")
        parts = rel.split("/")
        if any(fnmatch.fnmatch("/".join(parts[:i]), pat) for i in range(1, len(parts) + 1)):
            result = not neg
    return result


class DockerfileTest(unittest.TestCase):
    def setUp(self):
        self.ins = instructions(DOCKERFILE)

    def test_stages_are_pinned_debian_12(self):
        froms = [a for _, i, a in self.ins if i == "FROM"]
        self.assertGreaterEqual(len(froms), 2, "multi-stage")
        for a in froms:
            image = a.split()[0]
            self.assertRegex(image, r"^debian:12\.\d+(-slim)?(@sha256:[0-9a-f]{64})?$", "a pinned Debian 12 release")

    def test_built_with_the_project_scripts(self):
        runs = " ".join(a for s, i, a in self.ins if i == "RUN" and s == 0)
        self.assertIn("./scripts/install-deps.sh --build-only", runs)
        self.assertIn("./scripts/build.sh", runs)
        self.assertIn("cpack", runs, "the runtime stage installs the Debian package")

    def test_final_stage_runs_unprivileged_with_a_healthcheck(self):
        last = max(s for s, _, _ in self.ins)
        final = [(i, a) for s, i, a in self.ins if s == last]
        users = [a for i, a in final if i == "USER"]
        self.assertEqual(len(users), 1)
        self.assertNotIn(users[0].split(":")[0], ("root", "0"))
        env = " ".join(a for i, a in final if i == "ENV")
        port = re.search(r"IOC_HTTP_LISTEN=:(\d+)", env).group(1)
        self.assertIn(f"EXPOSE {port}", [f"{i} {a}" for i, a in final])
        checks = [a for i, a in final if i == "HEALTHCHECK"]
        self.assertEqual(len(checks), 1)
        self.assertIn("/healthz", checks[0])
        self.assertIn("${IOC_HTTP_LISTEN##*:}", checks[0])
        self.assertIn('ENTRYPOINT ["/usr/local/bin/ioc"]', [f"{i} {a}" for i, a in final])
        # The user's id is the one the Kubernetes manifests run as.
        runs = " ".join(a for i, a in final if i == "RUN")
        uid = re.search(r"--uid (\d+)", runs).group(1)
        self.assertEqual(users[0], f"{uid}:{uid}")

    def test_copy_sources_exist_and_are_in_the_context(self):
        copies = [a for _, i, a in self.ins if i == "COPY" and not a.startswith("--from")]
        self.assertTrue(copies)
        for a in copies:
            for src in a.split()[:-1]:
                self.assertTrue(os.path.exists(os.path.join(SOURCE, src)), f"COPY {src}: not in the repository")
                self.assertFalse(ignored(src), f"COPY {src}: excluded by {os.path.basename(IGNORE)}")
        self.assertTrue(os.access(ENTRYPOINT, os.X_OK))

    def test_the_entry_point_runs_each_service(self):
        env = {**os.environ, "IOC_BIN_DIR": os.path.abspath(BIN), "IOC_CONFIG": CONFIG,
               "IOC_HTTP_LISTEN": ":8080", "IOC_INTAKE_SPOOL_DIR": "/var/lib/ioc/intake",
               "IOC_ALERTER_STATE_DIR": "/var/lib/ioc/alerter", "IOC_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
        for s in ("intake", "aggregator", "alerter", "wall", "topics"):
            out = subprocess.run(["sh", ENTRYPOINT, s, "--check-config"], capture_output=True, text=True, env=env,
                                 timeout=30)
            self.assertEqual(out.returncode, 0, f"{s}: {out.stdout}{out.stderr}")
            self.assertIn(f"ioc-{s}: configuration OK", out.stdout)
        for bad in ([], ["volcano"]):
            out = subprocess.run(["sh", ENTRYPOINT, *bad], capture_output=True, text=True, env=env, timeout=30)
            self.assertEqual(out.returncode, 2)
            self.assertIn("usage: ioc", out.stderr)
        with open(ENTRYPOINT, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("|".join(SERVICES[:5]), text)


class ComposeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        compose = shutil.which("docker-compose")
        assert compose, "docker-compose is missing: run scripts/install-deps.sh"
        out = subprocess.run([compose, "-f", COMPOSE, "config"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        cls.config = yaml.safe_load(out.stdout)
        cls.services = cls.config["services"]

    def test_a_broken_file_is_refused(self):
        with open(COMPOSE, encoding="utf-8") as f:
            text = f.read()
        broken = os.path.join(os.path.dirname(COMPOSE), f".broken-{os.getpid()}.yml")
        try:
            with open(broken, "w", encoding="utf-8") as f:
                f.write(text.replace("    restart: unless-stopped\n", "    restart: [sometimes]\n", 1))
            out = subprocess.run(["docker-compose", "-f", broken, "config"], capture_output=True, text=True,
                                 timeout=120)
            self.assertNotEqual(out.returncode, 0)
        finally:
            os.remove(broken)

    def test_kafka_is_three_kraft_brokers_replicating_three_times(self):
        brokers = {n: s for n, s in self.services.items() if s["image"].startswith("apache/kafka:")}
        self.assertEqual(sorted(brokers), ["kafka-1", "kafka-2", "kafka-3"])
        ids = set()
        for name, s in brokers.items():
            e = s["environment"]
            ids.add(e["KAFKA_NODE_ID"])
            voters = e["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
            self.assertEqual(sorted(voters), [f"{i}@kafka-{i}:9093" for i in (1, 2, 3)])
            self.assertIn(f"{e['KAFKA_NODE_ID']}@{name}:9093", voters, "its own id and controller address")
            self.assertEqual(set(e["KAFKA_PROCESS_ROLES"].split(",")), {"broker", "controller"})
            self.assertEqual(e["KAFKA_ADVERTISED_LISTENERS"], f"PLAINTEXT://{name}:9092")
            listeners = dict(x.split("://") for x in e["KAFKA_LISTENERS"].split(","))
            self.assertEqual(set(listeners), {"PLAINTEXT", "CONTROLLER"})
            self.assertEqual(e["KAFKA_CONTROLLER_LISTENER_NAMES"], "CONTROLLER")
            protocols = dict(x.split(":") for x in e["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
            self.assertLessEqual(set(listeners), set(protocols))
            self.assertEqual(e["KAFKA_DEFAULT_REPLICATION_FACTOR"], "3")
            self.assertEqual(e["KAFKA_MIN_INSYNC_REPLICAS"], "2")
            self.assertEqual(e["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"], "3")
            self.assertEqual(e["KAFKA_AUTO_CREATE_TOPICS_ENABLE"], "false")
            self.assertTrue(e["CLUSTER_ID"])
            self.assertTrue(s["volumes"], f"{name} keeps its log on a volume")
        self.assertEqual(ids, {"1", "2", "3"})

    def test_topics_first_then_every_service(self):
        topics = self.services["topics"]
        self.assertEqual(topics["command"], ["topics"])
        self.assertEqual(topics["restart"], "no")
        self.assertEqual(topics["environment"]["IOC_TOPICS_REPLICATION_FACTOR"], "3")
        self.assertEqual({k: v["condition"] for k, v in topics["depends_on"].items()},
                         {f"kafka-{i}": "service_healthy" for i in (1, 2, 3)})
        ioc = {n: s for n, s in self.services.items() if s.get("image", "").startswith("ioc:") and n != "topics"}
        self.assertEqual(sorted(s["command"][0] for s in ioc.values()),
                         ["aggregator", "aggregator", "alerter", "intake", "sim", "wall"])
        for name, s in ioc.items():
            self.assertEqual(s["depends_on"]["topics"]["condition"], "service_completed_successfully", name)
            self.assertEqual(s["environment"]["IOC_KAFKA_BOOTSTRAP_SERVERS"],
                             "kafka-1:9092,kafka-2:9092,kafka-3:9092", name)
        peers = {self.services[a]["environment"]["IOC_AGGREGATOR_PEERS"] for a in ("aggregator-1", "aggregator-2")}
        self.assertEqual(peers, {"http://aggregator-2:8080", "http://aggregator-1:8080"}, "each the other, never itself")
        self.assertEqual(self.services["alerter"]["environment"]["IOC_ALERTER_ALERTMANAGER_URL"],
                         "http://alertmanager-1:9093,http://alertmanager-2:9093")

    def test_alertmanager_pair_prometheus_and_grafana(self):
        for i, peer in ((1, 2), (2, 1)):
            cmd = self.services[f"alertmanager-{i}"]["command"]
            self.assertIn("--cluster.listen-address=0.0.0.0:9094", cmd)
            self.assertIn(f"--cluster.peer=alertmanager-{peer}:9094", cmd)
        mounts = {}
        for name in ("prometheus", "alertmanager-1", "grafana"):
            for v in self.services[name]["volumes"]:
                source, target = v.split(":")[:2]
                if source.startswith("/"):  # a bind mount, made absolute by docker-compose config
                    self.assertTrue(os.path.exists(source), f"{name}: {source}")
                    mounts[target] = source
        prom_cfg = next(a for a in self.services["prometheus"]["command"] if a.startswith("--config.file="))
        rel = prom_cfg.split("=", 1)[1].replace("/etc/prometheus", mounts["/etc/prometheus"])
        self.assertTrue(os.path.exists(rel), rel)
        self.assertTrue(os.listdir(mounts["/var/lib/grafana/dashboards"]))
        with open(os.path.join(mounts["/etc/grafana/provisioning"], "datasources/prometheus.yml"), encoding="utf-8") as f:
            ds = yaml.safe_load(f)["datasources"][0]
        self.assertEqual((ds["uid"], ds["url"]), ("prometheus", "http://prometheus:9090"))
        with open(os.path.join(mounts["/etc/grafana/provisioning"], "dashboards/ioc.yml"), encoding="utf-8") as f:
            self.assertEqual(yaml.safe_load(f)["providers"][0]["options"]["path"], "/var/lib/grafana/dashboards")


if __name__ == "__main__":
    unittest.main()
