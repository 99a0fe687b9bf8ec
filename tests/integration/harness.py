"""Process harness for integration tests: start ioc-* binaries on free ports,
poll conditions with deadlines (no fixed sleeps), read Kafka topics with an
independent client, and always clean up."""

import datetime
import json
import os
import unittest
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

BIN = os.environ.get("IOC_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
LIB = os.environ.get("IOC_LIB", os.path.join(os.path.dirname(__file__), "../../build/lib"))
SOURCE = os.environ.get("IOC_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))
CONFIG = os.path.join(SOURCE, "deploy/config/ioc.yaml")
VIEW = "reports_by_district_category"  # the one view of report_view()
DISTRICTS = ["380", "381", "382"] + [str(c) for c in range(384, 408)]  # deploy/config/districts.yaml


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat(timespec="milliseconds")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what):
    """Polls `predicate` until it returns a truthy value; returns it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # a service still starting: keep polling
            last = e
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def http(method, url, body=None, content_type="application/json", timeout=15, headers=None):
    """Returns (status, headers, body text); HTTP errors are values, not exceptions."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None and content_type:
        req.add_header("Content-Type", content_type)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def metric(text, name, labels=None):
    """Value of one sample in Prometheus text format, or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        if labels and not all(f'{k}="{v}"' in head for k, v in labels.items()):
            continue
        return float(value)
    return None


class Service:
    def __init__(self, workdir, name, args, env=None):
        self.name = name
        self.log_path = os.path.join(workdir, f"{name}.log")
        n = 1
        while os.path.exists(self.log_path):  # a restarted service keeps its predecessor's log
            n += 1
            self.log_path = os.path.join(workdir, f"{name}.{n}.log")
        self._log = open(self.log_path, "wb")
        # Relative paths (the intake's spool) land in the test's own directory.
        self.proc = subprocess.Popen([os.path.join(BIN, name)] + args, stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=workdir, env=None if env is None else {**os.environ, **env})
        self.returncode = None

    def kill9(self):
        """SIGKILL: no flush, no commit, no goodbye."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.returncode = 0  # killed on purpose
        self._log.close()

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_http(self, url, timeout=30):
        def ok():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            return http("GET", url, timeout=2)[0] == 200
        wait_until(ok, timeout, f"{self.name} at {url}")

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code (kills and fails on timeout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} did not exit within {timeout}s of SIGTERM")
        self.returncode = self.proc.returncode
        self._log.close()
        return self.returncode


class System:
    """Starts services and stops them in reverse order; keeps logs of failed runs."""

    def __init__(self):
        self.workdir = tempfile.mkdtemp(prefix="ioc-it-")
        self.services = []
        self.external = []
        self.after_stop = []  # callables run once every service has stopped (e.g. a Kafka cluster's stop)

    def start(self, name, *args, env=None):
        s = Service(self.workdir, name, list(args), env)
        self.services.append(s)
        return s

    def start_external(self, argv, name):
        log = open(os.path.join(self.workdir, f"{name}.log"), "wb")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        self.external.append((p, log))
        return p

    def stop_all(self):
        codes = {}
        for s in reversed(self.services):
            if s.returncode is None:
                codes[s.name] = s.stop()
        for p, log in self.external:
            if p.poll() is None:
                p.terminate()
                p.wait(30)
            log.close()
        for stop in self.after_stop:
            stop()
        self.after_stop = []
        return codes

    def dump_logs(self):
        for s in self.services:
            sys.stderr.write(f"\n===== {s.name} ({s.log_path}) =====\n{s.log()[-4000:]}\n")

    def cleanup(self, failed):
        if failed:
            self.dump_logs()
            sys.stderr.write(f"logs kept in {self.workdir}\n")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def proto_modules(workdir):
    """Generates Python code for proto/ioc/v1 with protoc and imports it."""
    out = os.path.join(workdir, "pyproto")
    os.makedirs(out, exist_ok=True)
    protos = [os.path.join("ioc/v1", f) for f in os.listdir(os.path.join(SOURCE, "proto/ioc/v1")) if f.endswith(".proto")]
    subprocess.run(["protoc", f"--python_out={out}", "-I", os.path.join(SOURCE, "proto")] + protos, check=True)
    sys.path.insert(0, out)
    import importlib
    return {m: importlib.import_module(f"ioc.v1.{m}_pb2")
            for m in ("report", "window_result", "transaction", "telemetry", "air_quality", "alert_event")}


def produce(producer, topic, value, key=None, **options):
    """confluent-kafka's produce(), waiting for room while its local queue is full."""
    while True:
        try:
            producer.produce(topic, key=key, value=value, **options)
            return
        except BufferError:
            producer.poll(0.1)


def report_view(window="1m", lateness="10s", ooo="5s", idle="10s", emit="final", time="occurred_at"):
    """Aggregator arguments for a views file with one view, VIEW: reports
    per district x category in tumbling windows, with their count as a gauge."""
    fd, path = tempfile.mkstemp(prefix="ioc-views-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(f"""views:
  {VIEW}:
    source: reports
    group_by: [district, category]
    time: {time}
    window: {{tumbling: {window}}}
    allowed_lateness: {lateness}
    out_of_orderness: {ooo}
    idle_timeout: {idle}
    emit: {emit}
    aggregations: [count]
    gauges: {{values: [count], max_series: 1000}}
""")
    return ["--set", f"aggregator.views={path}"]


def intake_args(bootstrap, port, *more):
    """Arguments of an ioc-intake on `port` using the broker at `bootstrap`."""
    return ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}",
            "--set", f"http.listen=127.0.0.1:{port}", *more]


def report_body(district="380", category="flood", **extra):
    return json.dumps({"category": category, "district": district, "occurred_at": rfc3339(time.time() - 5), **extra})


def read_topic(bootstrap, topic, timeout=30):
    """Every record of `topic` up to its current end offsets, as dicts."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{uuid.uuid4()}", "enable.auto.commit": False})
    try:
        parts = sorted(c.list_topics(topic, timeout=10).topics[topic].partitions)
        ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
        starts = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[0] for p in parts}
        c.assign([TopicPartition(topic, p, starts[p]) for p in parts])
        pos = dict(starts)
        out = []
        deadline = time.monotonic() + timeout
        while any(pos[p] < ends[p] for p in parts):
            if time.monotonic() > deadline:
                raise AssertionError(f"reading {topic}: positions {pos}, ends {ends}")
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            pos[m.partition()] = m.offset() + 1
            out.append({"partition": m.partition(), "offset": m.offset(), "key": m.key(), "value": m.value(),
                        "timestamp": m.timestamp()[1],
                        "headers": dict((k, v.decode() if v else "") for k, v in (m.headers() or []))})
        return out
    finally:
        c.close()


def report_account(bootstrap, pb, view, window_s):
    """The independent account of a tumbling report view of `window_s`
    seconds over occurred_at (report_view()): reads ioc.reports.v1,
    ioc.deadletter.v1 and ioc.aggregates.v1. Returns (expected final count
    per result key from the reports not dead-lettered, final counts per key,
    dead letters by source (partition, offset), reports by id -> list of
    (partition, offset))."""
    dead = {}
    for d in read_topic(bootstrap, "ioc.deadletter.v1", timeout=60):
        h = d["headers"]
        if h.get("ioc.source.topic") == "ioc.reports.v1":
            dead.setdefault((int(h["ioc.source.partition"]), int(h["ioc.source.offset"])), []).append(
                (h["ioc.error"], d["partition"], d["offset"]))
    expected = {}
    by_id = {}
    for rec in read_topic(bootstrap, "ioc.reports.v1", timeout=60):
        r = pb["report"].Report()
        try:
            r.ParseFromString(rec["value"])
            ok = bool(r.district)
        except Exception:
            ok = False
        src = (rec["partition"], rec["offset"])
        if ok:
            by_id.setdefault(r.id, []).append(src)
        if src in dead:
            continue
        if not ok:
            raise AssertionError(f"record {src} is neither valid nor dead-lettered")
        start = (r.occurred_at.ToMilliseconds() // (window_s * 1000)) * window_s * 1000
        key = f"{view}|{r.district}/{r.category}|{start}"
        expected[key] = expected.get(key, 0) + 1
    finals = {}
    for rec in read_topic(bootstrap, "ioc.aggregates.v1", timeout=60):
        w = pb["window_result"].WindowResult()
        w.ParseFromString(rec["value"])
        if w.final:
            finals.setdefault(rec["key"].decode(), set()).add(w.count)
    return expected, finals, dead, by_id


def revision_violations(records, WindowResult):
    """Checks ioc.aggregates.v1 as read in topic order (read_topic): a key's
    revisions never go down, and no (key, revision) is published with two
    values. Returns (keys whose revision went down, pairs with two values),
    each as a list of examples."""
    last = {}
    seen = {}
    down, twice = [], []
    r = WindowResult()
    for rec in sorted(records, key=lambda x: (x["partition"], x["offset"])):
        r.ParseFromString(rec["value"])
        key = rec["key"].decode()
        value = (r.final, r.count, tuple(sorted((v.name, v.value) for v in r.values)))
        if key in last and r.revision < last[key]:
            down.append((key, last[key], r.revision))
        last[key] = max(last.get(key, 0), r.revision)
        held = seen.setdefault((key, r.revision), value)
        if held != value:
            twice.append((key, r.revision, held, value))
    return down, twice


class SystemTestCase(unittest.TestCase):
    """A test that starts services through self.system. A test that reaches
    its end calls self.passed(); then every service must have exited 0 on
    SIGTERM. Logs of failed tests are printed and kept."""

    def setUp(self):
        self.system = System()
        self.failed = True

    def passed(self):
        self.failed = False

    def tearDown(self):
        codes = None
        try:
            codes = self.system.stop_all()
        finally:
            unclean = codes is None or any(c != 0 for c in codes.values())
            # Keep and print the logs when the test failed or a service did
            # not exit cleanly (e.g. a sanitizer report at exit).
            self.system.cleanup(self.failed or unclean)
        if not self.failed:  # a test may start no service at all (the real-Kafka lane's tools)
            self.assertTrue(all(c == 0 for c in codes.values()), codes)

    def start_broker(self, bootstrap, *args):
        """Starts ioc-broker with its Kafka bootstrap at `bootstrap`; returns (service, http port)."""
        port = free_port()
        broker = self.system.start("ioc-broker", "--set", f"broker.bootstrap={bootstrap}",
                                   "--set", f"http.listen=127.0.0.1:{port}", *args)
        broker.wait_http(f"http://127.0.0.1:{port}/readyz")
        return broker, port
