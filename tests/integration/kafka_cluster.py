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
import time
import unittest

from harness import free_port, wait_until

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


class KafkaCluster:
    """ZooKeeper and `brokers` Kafka brokers on 127.0.0.1, data and logs under `workdir`."""

    def __init__(self, workdir, brokers=3, heap="384M"):
        self.dir = os.path.join(workdir, "kafka")
        self.n = brokers
        self.heap = heap
        self.zk_port = free_port()
        self.ports = [free_port() for _ in range(brokers)]
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
