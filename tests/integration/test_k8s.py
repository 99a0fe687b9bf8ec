"""deploy/k8s, validated offline: tests/k8s/validate.mjs follows the
kustomization files and validates every resource against the Kubernetes and
KEDA schemas (npm kubernetes-models, installed by scripts/install-deps.sh into
tests/k8s/node_modules); then what the deployment promises is read from the
resources: probes on /readyz and /healthz, resource requests, a
PodDisruptionBudget per replicated workload, a StatefulSet with a volume for
the intake's spool and the alerter's checkpoint, the aggregator scaled by its
consumer group's lag, ConfigMaps equal to deploy/config, the API keys from a
Secret, and Alertmanager as a 2-replica cluster that the alerter sends to in
full. With kubectl at hand, `kubectl kustomize` must build the overlay too."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import SOURCE

K8S = os.path.join(SOURCE, "deploy/k8s")
OVERLAY = os.path.join(K8S, "overlays/production")
VALIDATE = os.path.join(SOURCE, "tests/k8s/validate.mjs")
NODE_MODULES = os.path.join(SOURCE, "tests/k8s/node_modules")
IOC_WORKLOADS = {"ioc-intake": "StatefulSet", "ioc-aggregator": "Deployment", "ioc-alerter": "StatefulSet",
                 "ioc-wall": "Deployment"}


def validate(tree):
    out = subprocess.run(["node", VALIDATE, tree], capture_output=True, text=True, timeout=120)
    return out.returncode, out.stdout, out.stderr


class KubernetesManifestsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        assert shutil.which("node"), "node is missing: run scripts/install-deps.sh"
        assert os.path.isdir(os.path.join(NODE_MODULES, "kubernetes-models")), \
            "tests/k8s/node_modules is missing: run scripts/install-deps.sh"
        code, out, err = validate(OVERLAY)
        assert code == 0, err
        data = json.loads(out)
        cls.resources = [r["obj"] for r in data["resources"]]
        cls.generated = data["generated"]

    def find(self, kind, name):
        found = [r for r in self.resources if r["kind"] == kind and r["metadata"]["name"] == name]
        self.assertEqual(len(found), 1, f"{kind}/{name}")
        return found[0]

    def containers(self, workload):
        return workload["spec"]["template"]["spec"]["containers"]

    def env(self, container):
        return {e["name"]: e.get("value") for e in container.get("env", [])}

    def test_the_schemas_reject_a_broken_resource(self):
        tmp = tempfile.mkdtemp()
        try:
            shutil.copytree(K8S, os.path.join(tmp, "k8s"))
            path = os.path.join(tmp, "k8s/base/wall.yaml")
            with open(path, encoding="utf-8") as f:
                text = f.read()
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.replace("replicas: 2", 'replicas: "two"', 1))
            code, _, err = validate(os.path.join(tmp, "k8s/overlays/production"))
            self.assertEqual(code, 1)
            self.assertIn("replicas must be integer", err)
        finally:
            shutil.rmtree(tmp)

    def test_workloads_probe_request_and_run_unprivileged(self):
        for name, kind in IOC_WORKLOADS.items():
            w = self.find(kind, name)
            spec = w["spec"]["template"]["spec"]
            self.assertTrue(spec["securityContext"]["runAsNonRoot"], name)
            labels = w["spec"]["template"]["metadata"]["labels"]
            self.assertEqual(w["spec"]["selector"]["matchLabels"].items() <= labels.items(), True, name)
            for c in self.containers(w):
                self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz", name)
                self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz", name)
                self.assertIn("cpu", c["resources"]["requests"], name)
                self.assertIn("memory", c["resources"]["requests"], name)
                self.assertIn("memory", c["resources"]["limits"], name)
                self.assertFalse(c["securityContext"]["allowPrivilegeEscalation"], name)
                self.assertEqual(c["args"], [name[len("ioc-"):]], "the image's command picks the service")
                mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
                self.assertIn("/etc/ioc", mounts, name)
        # The aggregator's request follows the benchmark: 512 MiB covers a
        # catch-up (180-226 MiB) plus about a million open key-windows.
        agg = self.containers(self.find("Deployment", "ioc-aggregator"))[0]
        self.assertEqual(agg["resources"]["requests"]["memory"], "512Mi")

    def test_state_lives_on_volumes_of_stateful_sets(self):
        for name, env_key, path in (("ioc-intake", "IOC_INTAKE_SPOOL_DIR", "/var/lib/ioc/intake"),
                                    ("ioc-alerter", "IOC_ALERTER_STATE_DIR", "/var/lib/ioc/alerter")):
            s = self.find("StatefulSet", name)
            c = self.containers(s)[0]
            self.assertEqual(self.env(c)[env_key], path, name)
            claims = {t["metadata"]["name"] for t in s["spec"]["volumeClaimTemplates"]}
            mounted = {m["name"] for m in c["volumeMounts"] if m["mountPath"] == path}
            self.assertEqual(len(mounted & claims), 1, f"{name}: {path} on its own claim")
            self.assertEqual(s["spec"]["template"]["spec"]["securityContext"]["fsGroup"], 10001, name)

    def test_disruption_budgets_cover_the_replicated_workloads(self):
        budgets = [r for r in self.resources if r["kind"] == "PodDisruptionBudget"]
        for kind, name in (("StatefulSet", "ioc-intake"), ("Deployment", "ioc-aggregator"),
                           ("Deployment", "ioc-wall"), ("StatefulSet", "alertmanager")):
            labels = self.find(kind, name)["spec"]["template"]["metadata"]["labels"]
            covering = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
            self.assertEqual(len(covering), 1, name)

    def test_the_aggregator_scales_by_consumer_lag(self):
        so = self.find("ScaledObject", "ioc-aggregator")
        self.assertEqual(so["spec"]["scaleTargetRef"]["name"], "ioc-aggregator")
        trigger = so["spec"]["triggers"][0]
        self.assertEqual(trigger["type"], "kafka")
        self.assertEqual(trigger["metadata"]["consumerGroup"], "ioc-aggregator")
        self.assertGreaterEqual(so["spec"]["minReplicaCount"], 2)
        # No more replicas than the input topics have partitions (6 by default).
        self.assertLessEqual(so["spec"]["maxReplicaCount"], 6)

    def test_config_maps_are_the_shipped_files_and_keys_come_from_a_secret(self):
        config = next(g for g in self.generated if g["name"] == "ioc-config")
        self.assertEqual(sorted(config["files"]),
                         sorted(["ioc.yaml", "districts.yaml", "categories.yaml", "views.yaml", "rules.yaml"]))
        for f in config["files"]:
            with open(os.path.join(K8S, "base/config", f), "rb") as a, \
                    open(os.path.join(SOURCE, "deploy/config", f), "rb") as b:
                self.assertEqual(a.read(), b.read(), f"deploy/k8s/base/config/{f} differs from deploy/config/{f}: copy it")
        with open(os.path.join(K8S, "base/config/alertmanager.yml"), "rb") as a, \
                open(os.path.join(SOURCE, "deploy/alertmanager/alertmanager.yml"), "rb") as b:
            self.assertEqual(a.read(), b.read(), "copy deploy/alertmanager/alertmanager.yml to deploy/k8s/base/config")
        intake = self.find("StatefulSet", "ioc-intake")
        c = self.containers(intake)[0]
        keys = self.env(c)["IOC_INTAKE_AUTH_KEYS_FILE"]
        volume = next(m["name"] for m in c["volumeMounts"] if keys.startswith(m["mountPath"] + "/"))
        source = next(v for v in intake["spec"]["template"]["spec"]["volumes"] if v["name"] == volume)
        secret = self.find("Secret", source["secret"]["secretName"])
        self.assertIn(os.path.basename(keys), secret["stringData"])

    def test_alertmanager_is_a_clustered_pair_and_the_alerter_sends_to_both(self):
        am = self.find("StatefulSet", "alertmanager")
        self.assertEqual(am["spec"]["replicas"], 2)
        headless = self.find("Service", am["spec"]["serviceName"])
        self.assertEqual(headless["spec"]["clusterIP"], "None")
        args = self.containers(am)[0]["args"]
        peers = sorted(a.split("=", 1)[1] for a in args if a.startswith("--cluster.peer="))
        ns = "ioc"
        expected = [f"alertmanager-{i}.{am['spec']['serviceName']}.{ns}.svc:9094" for i in range(2)]
        self.assertEqual(peers, expected)
        self.assertIn("--cluster.listen-address=0.0.0.0:9094", args)
        alerter = self.containers(self.find("StatefulSet", "ioc-alerter"))[0]
        urls = self.env(alerter)["IOC_ALERTER_ALERTMANAGER_URL"].split(",")
        self.assertEqual(sorted(urls), [f"http://{p.rsplit(':', 1)[0]}:9093" for p in expected])

    def test_kubectl_kustomize_builds_the_overlay(self):
        kubectl = shutil.which("kubectl")
        if not kubectl:
            self.skipTest("kubectl is not installed: the overlay was validated file by file")
        out = subprocess.run([kubectl, "kustomize", OVERLAY], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        kinds = [line.split(":", 1)[1].strip() for line in out.stdout.splitlines() if line.startswith("kind:")]
        self.assertEqual(len(kinds), len(self.resources) + 3, "the resources and the three generated ConfigMaps")
        self.assertIn("namespace: ioc", out.stdout)


if __name__ == "__main__":
    unittest.main()
