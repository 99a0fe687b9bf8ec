"""A real Apache Kafka cluster (ZooKeeper mode) started and stopped by a
test: the real-Kafka lane.

The lane runs against any Apache Kafka binary distribution named by
IOC_KAFKA_HOME (bin/kafka-run-class.sh inside; a Java runtime on PATH).
Without it, every test of the lane is skipped, and says so: `.ci/run` sets
it when a distribution is there, and a user points it at their own.

The cluster is configured as production would be: no automatic topic
creation; with 3 or more brokers replication 3 and min.insync.replicas 2;
no unclean leader election. Each broker is a process group of its own, so
that kill() is a crash (SIGKILL, no controlled shutdown) and stop_broker()
a clean one.
"""

import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import SystemTestCase, free_port, wait_until

KAFKA_HOME = os.environ.get("IOC_KAFKA_HOME", "")
SKIP_REASON = ("real-Kafka lane skipped: IOC_KAFKA_HOME is not set (point it at an Apache Kafka distribution, "
               "e.g. IOC_KAFKA_HOME=/opt/kafka_2.13-3.6.0, to run it)")


def require_kafka(cls):
    """Class decorator: skip the class, saying why, without a Kafka."""
    if KAFKA_HOME and os.path.exists(os.path.join(KAFKA_HOME, "bin", "kafka-run-class.sh")):
        return cls
    if KAFKA_HOME:
        return unittest.skip(f"real-Kafka lane skipped: IOC_KAFKA_HOME={KAFKA_HOME} holds no bin/kafka-run-class.sh")(cls)
    return unittest.skip(SKIP_REASON)(cls)


def _port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _listen_port():
    """A free port below the kernel's ephemeral range: a JVM takes seconds
    to bind it, and meanwhile the many outgoing connections of tests that
    run beside the lane take their local ports from that range (what
    free_port() returns), so such a port could be gone by then."""
    import random
    try:
        low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


class KafkaCluster:
    """ZooKeeper and `brokers` Kafka brokers on 127.0.0.1, data and logs under `workdir`."""

    def __init__(self, workdir, brokers=3, heap="384M"):
        self.dir = os.path.join(workdir, "kafka")
        self.n = brokers
        self.heap = heap
        self.zk_port = _listen_port()
        self.ports = [_listen_port() for _ in range(brokers)]
        self.procs = {}  # broker id -> Popen
        self.zk = None
        self.bootstrap = ",".join(f"127.0.0.1:{p}" for p in self.ports)
        for d in ("config", "data", "logs"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)

    # ------------------------------------------------------------ processes

    def _run(self, name, main, config, heap, log):
        env = {**os.environ, "KAFKA_HEAP_OPTS": f"-Xmx{heap} -Xms128M",
               "LOG_DIR": os.path.join(self.dir, "logs", name),
               "KAFKA_LOG4J_OPTS": f"-Dlog4j.configuration=file:{KAFKA_HOME}/config/log4j.properties"}
        out = open(log, "ab")
        p = subprocess.Popen([os.path.join(KAFKA_HOME, "bin", "kafka-run-class.sh"), "-name", name, main, config],
                             stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                             start_new_session=True)
        out.close()
        return p

    def _broker_config(self, i):
        rf, isr = (3, 2) if self.n >= 3 else (self.n, 1)
        path = os.path.join(self.dir, "config", f"server-{i}.properties")
        with open(path, "w") as f:
            f.write(f"""broker.id={i}
listeners=PLAINTEXT://127.0.0.1:{self.ports[i]}
advertised.listeners=PLAINTEXT://127.0.0.1:{self.ports[i]}
log.dirs={self.dir}/data/kafka-{i}
zookeeper.connect=127.0.0.1:{self.zk_port}
zookeeper.connection.timeout.ms=18000
zookeeper.session.timeout.ms=6000
num.partitions=1
default.replication.factor={rf}
min.insync.replicas={isr}
offsets.topic.replication.factor={rf}
offsets.topic.num.partitions=12
transaction.state.log.replication.factor={rf}
transaction.state.log.min.isr={isr}
transaction.state.log.num.partitions=12
auto.create.topics.enable=false
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
unclean.leader.election.enable=false
controlled.shutdown.enable=true
log.segment.bytes=104857600
""")
        return path

    def _log(self, i):
        return os.path.join(self.dir, "logs", f"kafka-{i}.out")

    def start(self):
        zk_conf = os.path.join(self.dir, "config", "zookeeper.properties")
        with open(zk_conf, "w") as f:
            f.write(f"dataDir={self.dir}/data/zookeeper\nclientPort={self.zk_port}\nclientPortAddress=127.0.0.1\n"
                    "maxClientCnxns=0\nadmin.enableServer=false\n")
        self.zk = self._run("zookeeper", "org.apache.zookeeper.server.quorum.QuorumPeerMain", zk_conf, "256M",
                            os.path.join(self.dir, "logs", "zookeeper.out"))
        wait_until(lambda: _port_open(self.zk_port), 60, "ZooKeeper listening")
        for i in range(self.n):
            self._start(i)
        for i in range(self.n):
            self._wait_started(i)
        return self

    def _start(self, i):
        offset = os.path.getsize(self._log(i)) if os.path.exists(self._log(i)) else 0
        self.procs[i] = (self._run(f"kafkaServer-{i}", "kafka.Kafka", self._broker_config(i), self.heap, self._log(i)),
                         offset)

    def _wait_started(self, i, timeout=120):
        p, offset = self.procs[i]

        def started():
            if p.poll() is not None:
                raise AssertionError(f"broker {i} exited with {p.returncode}:\n{self.tail(i)}")
            with open(self._log(i), "rb") as f:
                f.seek(offset)
                return f"[KafkaServer id={i}] started".encode() in f.read()
        wait_until(started, timeout, f"Kafka broker {i} started")

    def tail(self, i, n=3000):
        with open(self._log(i), "rb") as f:
            return f.read().decode(errors="replace")[-n:]

    def alive(self, i):
        p = self.procs.get(i)
        return p is not None and p[0].poll() is None

    def kill(self, i):
        """kill -9 of broker i: a crash."""
        p, _ = self.procs[i]
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()

    def stop_broker(self, i, timeout=60):
        """SIGTERM: a controlled shutdown (leadership moves first)."""
        p, _ = self.procs[i]
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def start_broker(self, i, timeout=120):
        """Starts broker i again and waits until it is up. After a kill -9
        ZooKeeper may still hold the dead broker's session (up to
        zookeeper.session.timeout.ms): the broker then exits, and is retried."""
        deadline = time.monotonic() + timeout
        while True:
            self._start(i)
            try:
                self._wait_started(i, timeout=max(5, deadline - time.monotonic()))
                return
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                self.kill(i)
                time.sleep(2)

    def pause(self):
        """Every broker stopped at once (SIGSTOP): the cluster is unreachable
        without losing its state, as in a network partition."""
        for p, _ in self.procs.values():
            os.killpg(p.pid, signal.SIGSTOP)

    def resume(self):
        for p, _ in self.procs.values():
            os.killpg(p.pid, signal.SIGCONT)

    def stop(self):
        for i in list(self.procs):
            try:
                os.killpg(self.procs[i][0].pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        for i in list(self.procs):
            self.stop_broker(i, timeout=30)
        if self.zk is not None and self.zk.poll() is None:
            os.killpg(self.zk.pid, signal.SIGTERM)
            try:
                self.zk.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.zk.pid, signal.SIGKILL)
                self.zk.wait()

    # ------------------------------------------------------------ metadata

    def leaders(self, topic):
        """Partition -> leader broker id, as the cluster's metadata says."""
        from confluent_kafka.admin import AdminClient
        md = AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(topic, timeout=10)
        return {p: m.leader for p, m in md.topics[topic].partitions.items()}

    def in_sync(self, topic):
        """True when every partition of `topic` has its full replica set in sync."""
        from confluent_kafka.admin import AdminClient
        md = AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(topic, timeout=10)
        t = md.topics[topic]
        return t.error is None and all(len(m.isrs) == len(m.replicas) and m.leader >= 0
                                       for m in t.partitions.values())


# ---------------------------------------------------------------- tests on a real cluster

def run_topics(bootstrap, *args, replication=3, attempts=3):
    """ioc-topics against the cluster; returns the CompletedProcess of the last attempt."""
    from harness import BIN, CONFIG
    for _ in range(attempts):
        r = subprocess.run([os.path.join(BIN, "ioc-topics"), "--config", CONFIG, "--set",
                            f"kafka.bootstrap_servers={bootstrap}", "--set", f"topics.replication_factor={replication}",
                            *args], capture_output=True, text=True, timeout=120)
        if r.returncode == 0:
            break
    return r


class KafkaTestCase(SystemTestCase):
    """A SystemTestCase on its own real Kafka cluster (BROKERS brokers, every
    project topic created with ioc-topics): self.kafka, self.bootstrap and
    self.common (the arguments every service needs). The cluster stops after
    the services."""

    BROKERS = 3
    TOPIC_ARGS = ()  # extra --set arguments for ioc-topics and every service

    def setUp(self):
        super().setUp()
        self.kafka = KafkaCluster(self.system.workdir, self.BROKERS)
        self.system.after_stop.append(self.kafka.stop)
        self.kafka.start()
        self.bootstrap = self.kafka.bootstrap
        from harness import CONFIG
        self.common = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={self.bootstrap}", *self.TOPIC_ARGS]
        r = run_topics(self.bootstrap, *self.TOPIC_ARGS, replication=min(3, self.BROKERS))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def service(self, name, *args, ready=True, timeout=90):
        """Starts an ioc-* service on a free port; `svc.url` is its base URL."""
        port = free_port()
        # librdkafka 2.0 can hang in its teardown after broker outages: the
        # stop is cut short (and says so) within the harness's 30 s wait. A
        # stop that lands in a group rebalance waits for it to end first
        # (6 s on the 3-broker cluster), then leaves the group: 20 s.
        svc = self.system.start(name, *self.common, "--set", f"http.listen=127.0.0.1:{port}",
                                "--set", "process.shutdown_timeout=20s", *args)
        svc.port = port
        svc.url = f"http://127.0.0.1:{port}"
        if ready:
            svc.wait_http(svc.url + "/readyz", timeout=timeout)
        return svc


class ReportPoster(threading.Thread):
    """Clients posting reports to one or more intakes at `per_second` in all,
    each report with its own Idempotency-Key and id, retrying a report that
    got no 202 (any status, a timeout, a refused connection) with the same
    key until it gets one. `accepted`: report ids answered 202; `attempts`:
    answers that were not 202, by status."""

    def __init__(self, urls, per_second=20, clients=4, districts=None, categories=("flood", "fire", "traffic_accident")):
        super().__init__(daemon=True)
        from harness import DISTRICTS
        self.urls = urls
        self.pause = clients / per_second
        self.clients = clients
        self.districts = list(districts or DISTRICTS)
        self.categories = list(categories)
        self.accepted = []
        self.attempts = {}
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.serial = 0

    def _client(self, n):
        import json as _json
        import uuid
        from harness import http, rfc3339
        i = 0
        while not self.halt.is_set():
            with self.lock:
                self.serial += 1
                k = self.serial
            rid = str(uuid.uuid4())
            sent = time.time()
            body = _json.dumps({"id": rid, "category": self.categories[k % len(self.categories)],
                                "district": self.districts[k % len(self.districts)],
                                "occurred_at": rfc3339(sent - 0.2)})
            while True:
                url = self.urls[(n + i) % len(self.urls)] + "/api/v1/reports"
                i += 1
                try:
                    status, _, text = http("POST", url, body, timeout=15, headers={"Idempotency-Key": f"k-{rid}"})
                except OSError as e:
                    status, text = type(e).__name__, ""
                if status == 202:
                    with self.lock:
                        self.accepted.append(rid)
                    break
                with self.lock:
                    self.attempts[status] = self.attempts.get(status, 0) + 1
                if self.halt.is_set() and time.time() - sent > 120:
                    break  # given up at the end of the test: counted as not accepted
                time.sleep(0.5)
            time.sleep(self.pause)

    def run(self):
        threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(self.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def stop(self):
        self.halt.set()
        self.join(180)


def ids_on_topic(bootstrap, pb):
    """Report id -> how many records of ioc.reports.v1 carry it."""
    from harness import read_topic
    counts = {}
    r = pb["report"].Report()
    for rec in read_topic(bootstrap, "ioc.reports.v1", timeout=120):
        try:
            r.ParseFromString(rec["value"])
        except Exception:
            continue
        counts[r.id] = counts.get(r.id, 0) + 1
    return counts


def assert_results_exact(case, bootstrap, pb, window_s, timeout=120):
    """The independent account of report_view(window=window_s) on the
    cluster: every window with reports gets a final equal to what the topic
    holds, no window has two final values, and no result key's revision goes
    down or names two values. Returns (expected finals, dead letters)."""
    from harness import VIEW, read_topic, report_account, revision_violations

    def settled():
        a = report_account(bootstrap, pb, VIEW, window_s)
        return a if set(a[0]) <= set(a[1]) else None
    expected, finals, dead, _ = wait_until(settled, timeout, "a final result for every window with reports")
    case.assertEqual({k: v for k, v in finals.items() if len(v) != 1}, {}, "finals with two values")
    case.assertEqual({k: next(iter(finals[k])) for k in expected}, expected)
    down, twice = revision_violations(read_topic(bootstrap, "ioc.aggregates.v1"), pb["window_result"].WindowResult)
    case.assertEqual((down[:5], twice[:5]), ([], []), "revisions that went down, (key, revision) pairs with two values")
    return expected, dead
