"""Scale-out and crash of ioc-aggregator against an independent oracle, with
real processes.

Replicas of one consumer group share 12 partitions of each input topic
(cooperative rebalancing) while a generator streams more than 100k reports,
transactions and telemetry records covering 28 hours of event time (so 1 h
and 24 h windows open and close), with records out of order, records late
but inside their windows' allowed lateness, records days late, and poison
records. The group goes 1 -> 3 replicas, one replica is killed with
SIGKILL mid-stream and started again, then the group goes back to 1
(SIGTERM). After the stream, every window closes by the quiet-partition
rule, and an independent client reads ioc.aggregates.v1 and
ioc.deadletter.v1 and compares them with oracle.py, which recomputes every
default view from the input topics:

- every key-window the oracle expects has a final result, and no other
  key-window has one; the final values equal the oracle's (quantiles and
  distinct counts within the sketches' accuracy);
- finals of one key-window published more than once (a replay after the
  SIGKILL) carry identical values; the highest revision of a key-window is
  a final; in topic order no key's revision goes down, and no (key,
  revision) is published with two values;
- every poison and every late record is in the dead-letter topic with its
  reason (late ones: exactly the views they are late for), and nothing else
  is.

IOC_SCALE_RUNS=5 runs the whole scenario 5 times in a row
(test_scale_out_and_crash_repeatedly); each run prints a summary line.
"""

import collections
import json
import os
import random
import signal
import sys
import threading
import time
import unittest
import uuid

from harness import (CONFIG, DISTRICTS, SOURCE, System, SystemTestCase, free_port, http, metric, produce, proto_modules,
                     wait_until)
import oracle

PARTITIONS = 12
REPORTS, TRANSACTIONS, TELEMETRY = "ioc.reports.v1", "ioc.transactions.v1", "ioc.telemetry.v1"
AIR_QUALITY = "ioc.air-quality.v1"
INPUTS = (REPORTS, TRANSACTIONS, TELEMETRY, AIR_QUALITY)
AGGREGATES, DEAD = "ioc.aggregates.v1", "ioc.deadletter.v1"
TOPIC_ARGS = [a for t in INPUTS for a in ("--set", f"topics.partitions.{t}={PARTITIONS}")]
# Results of 28 h of reports in 15-minute hopping windows exceed the
# embedded broker's ~5 MB per partition on the default 6 partitions.
TOPIC_ARGS += ["--set", f"topics.partitions.{AGGREGATES}=48"]

HOUR = 3_600_000
SPAN_MS = 28 * HOUR  # event time the stream covers
TICKS = 1500
TICK_S = 0.05  # wall time per tick: the stream takes 75 s
FINALS_WAIT_S = int(os.environ.get("IOC_FINALS_WAIT_S", "120"))
PER_TICK = {REPORTS: 9.5, TRANSACTIONS: 28.0, TELEMETRY: 40.0, AIR_QUALITY: 3.0}  # records per tick on average
CATEGORIES = ["flood", "landslide", "fire", "traffic_accident", "road_damage", "pollution", "public_order",
              "utility_outage", "health_emergency", "other"]  # deploy/config/categories.yaml
CATEGORY_WEIGHTS = [30, 5, 8, 20, 10, 6, 6, 5, 4, 6]
POISON_DISTRICT = "999"


def partition_of(district):
    """Topics are keyed by district; the generator places each district on
    a fixed partition, so that all 12 carry records all the time."""
    return DISTRICTS.index(district) % PARTITIONS if district in DISTRICTS else int(district) % PARTITIONS


class Stream:
    """The generated input: ticks of (topic, partition, key, value, timestamp ms), and what was put in."""

    def __init__(self, pb, seed):
        rnd = random.Random(seed)
        self.start_ms = (int(time.time() * 1000) - 3 * 24 * HOUR) // HOUR * HOUR
        self.ticks = [[] for _ in range(TICKS)]
        self.kinds = collections.Counter()
        district_weights = [1 + (i * 7) % 5 for i in range(len(DISTRICTS))]
        step = SPAN_MS / TICKS
        serial = 0

        def occurred(t, kind):
            if kind == "late":  # days behind: beyond every view's allowed lateness
                return self.start_ms - rnd.randint(36 * HOUR, 60 * HOUR)
            return t - rnd.randint(0, 4000)  # within out_of_orderness (5 s)

        for k in range(TICKS):
            lo = self.start_ms + int(k * step)
            records = []
            for topic, mean in PER_TICK.items():
                n = int(mean) + (rnd.random() < mean - int(mean))
                n += rnd.randint(-2, 2) if n > 4 else 0
                for _ in range(n):
                    records.append((topic, rnd.choices(DISTRICTS, district_weights)[0]))
            times = sorted(lo + rnd.randint(0, int(step) - 1) for _ in records)
            rnd.shuffle(records)
            for (topic, district), t in zip(records, times):
                serial += 1
                kind = "normal"
                # Late but inside every view's allowed lateness: revisions.
                inside = {REPORTS: (10 * 60_000, 5 * HOUR), TRANSACTIONS: (60_000, 9 * 60_000),
                          TELEMETRY: (8_000, 50_000), AIR_QUALITY: (8_000, 50_000)}[topic]
                if rnd.random() < 0.04:
                    kind = "revision"
                elif k > TICKS // 4 and rnd.random() < 0.0015:
                    kind = "late"
                if kind == "revision":
                    occ = t - rnd.randint(*inside)
                else:
                    occ = occurred(t, kind)
                value = self.record(pb, rnd, topic, district, occ, t, serial)
                self.kinds[(topic, kind)] += 1
                self.ticks[k].append((topic, partition_of(district), district, value, t))
                if topic == REPORTS and kind == "normal" and rnd.random() < 0.01:
                    self.duplicate(pb, rnd, k, district, value, step)
            if k >= TICKS // 10 and k % 40 == 0:
                self.poison(pb, rnd, k, times[-1] if times else lo, serial)

    @staticmethod
    def record(pb, rnd, topic, district, occ, t, serial):
        if topic == REPORTS:
            m = pb["report"].Report(id=f"r-{serial}", district=district, source="api",
                                    category=rnd.choices(CATEGORIES, CATEGORY_WEIGHTS)[0])
        elif topic == TRANSACTIONS:
            T = pb["transaction"].ServiceTransaction
            status = rnd.choices([T.STATUS_SUBMITTED, T.STATUS_COMPLETED, T.STATUS_OVERDUE], [50, 40, 10])[0]
            m = T(id=f"tx-{serial}", district=district, service_code=f"1.00{rnd.randint(1, 9)}",
                  service_level=rnd.choice([T.SERVICE_LEVEL_PARTIAL_ONLINE, T.SERVICE_LEVEL_FULL_ONLINE]),
                  channel=T.CHANNEL_ONLINE if rnd.random() < 0.7 else T.CHANNEL_COUNTER, status=status,
                  processing_ms=0 if status == T.STATUS_SUBMITTED else int(rnd.lognormvariate(18, 1.2)))
        elif topic == AIR_QUALITY:
            # Whole numbers: means are exact in binary floating point, in any order.
            m = pb["air_quality"].AirQualityReading(station_id=f"aq-{district}-{rnd.randint(1, 2)}", district=district,
                                                    pm25=float(rnd.randint(5, 150)), pm10=float(rnd.randint(10, 250)),
                                                    aqi=float(rnd.randint(20, 260)))
        else:
            T = pb["telemetry"].Telemetry
            kind = rnd.choices([T.KIND_BTS_HEARTBEAT, T.KIND_WATER_LEVEL, T.KIND_RAINFALL, T.KIND_AIR_QUALITY],
                               [45, 20, 20, 15])[0]
            if kind == T.KIND_BTS_HEARTBEAT:
                sid, value, unit = f"bts-{district}-{rnd.randint(1, 3):02d}", float(rnd.random() < 0.97), ""
            elif kind == T.KIND_WATER_LEVEL:
                sid, value, unit = f"wl-{district}-{rnd.randint(1, 2):02d}", round(rnd.uniform(0.5, 6.0), 3), "m"
            elif kind == T.KIND_RAINFALL:
                # Quarter millimetres: sums are exact in binary floating point, in any order.
                sid, value, unit = f"rain-{district}-01", rnd.randint(0, 80) * 0.25, "mm"
            else:
                sid, value, unit = f"aq-{district}-01", float(rnd.randint(20, 180)), "AQI"
            m = T(source_id=sid, district=district, kind=kind, value=value, unit=unit)
        m.occurred_at.FromMilliseconds(occ)
        m.received_at.FromMilliseconds(t)
        return m.SerializeToString()

    def duplicate(self, pb, rnd, k, district, value, step):
        """The report again, up to 60 ticks later (a Kafka timestamp of
        then): mostly the same bytes (a producer's retry, a spool replayed
        twice), sometimes another report under its id. Either counts
        nowhere."""
        later = min(k + rnd.randint(1, 60), TICKS - 1)
        if rnd.random() < 0.25:
            r = pb["report"].Report()
            r.ParseFromString(value)
            r.category = "fire" if r.category != "fire" else "flood"
            value, sort = r.SerializeToString(), "duplicate:other_report"
        else:
            sort = "duplicate:same_bytes"
        self.kinds[(REPORTS, sort)] += 1
        self.ticks[later].append((REPORTS, partition_of(district), district, value,
                                  self.start_ms + int(later * step)))

    def poison(self, pb, rnd, k, t, serial):
        """One poison record of each sort, rotating over the topics."""
        topic = (REPORTS, TRANSACTIONS, TELEMETRY)[(k // 40) % 3]
        district = rnd.choice(DISTRICTS)
        future = int(time.time() * 1000) + 2 * 24 * HOUR
        good = lambda occ: self.record(pb, rnd, topic, district, occ, t, serial)  # noqa: E731
        out = [("undecodable", district, b"\x0a\x05ab"),  # a string field cut short
               ("far_future", district, good(future))]
        if topic == REPORTS:
            r = pb["report"].Report()
            r.ParseFromString(good(t))
            r.category = "volcano"
            out.append(("unknown_category", district, r.SerializeToString()))
            r.category, r.id = "flood", ""
            out.append(("missing_id", district, r.SerializeToString()))
        elif topic == TRANSACTIONS:
            m = pb["transaction"].ServiceTransaction()
            m.ParseFromString(good(t))
            m.ClearField("occurred_at")
            out.append(("missing_occurred_at", district, m.SerializeToString()))
        m = {REPORTS: pb["report"].Report, TRANSACTIONS: pb["transaction"].ServiceTransaction,
             TELEMETRY: pb["telemetry"].Telemetry}[topic]()
        m.ParseFromString(good(t))
        m.district = POISON_DISTRICT
        out.append(("unknown_district", POISON_DISTRICT, m.SerializeToString()))
        for sort, key, value in out:
            self.kinds[(topic, "poison:" + sort)] += 1
            self.ticks[k].append((topic, partition_of(key), key, value, t))

    def count(self):
        return sum(len(t) for t in self.ticks)


class Producer(threading.Thread):
    """Streams the ticks at TICK_S each (all of `preload` at once, first);
    `done` is the number of ticks produced so far."""

    def __init__(self, bootstrap, stream, preload):
        super().__init__(daemon=True)
        from confluent_kafka import Producer as KafkaProducer
        self.producer = KafkaProducer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
        self.stream = stream
        self.done = 0
        self.failed = []
        self.error = None
        for k in range(preload):
            self._tick(k)
        self.producer.flush(30)
        self.done = preload

    def _report(self, err, msg):
        if err is not None:
            self.failed.append(str(err))

    def _tick(self, k):
        for topic, partition, key, value, ts in self.stream.ticks[k]:
            produce(self.producer, topic, value, key.encode(), partition=partition, timestamp=ts,
                    on_delivery=self._report)
        self.producer.poll(0)

    def run(self):
        try:
            begin = time.monotonic() - self.done * TICK_S
            for k in range(self.done, TICKS):
                pause = begin + k * TICK_S - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                self._tick(k)
                self.done = k + 1
            if self.producer.flush(60) != 0:
                self.failed.append("records still queued after 60 s")
        except Exception as e:  # reported by the test
            self.error = e

    def wait_for(self, fraction, timeout=120):
        wait_until(lambda: self.done >= int(TICKS * fraction) or self.error, timeout, f"{fraction:.0%} of the stream")
        if self.error:
            raise self.error


class TopicReader:
    """Reads a topic from its beginning, in increments, with one independent consumer."""

    def __init__(self, bootstrap, topic):
        from confluent_kafka import Consumer, TopicPartition
        self.topic = topic
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{uuid.uuid4()}",
                           "enable.auto.commit": False, "enable.partition.eof": False})
        self.parts = sorted(self.c.list_topics(topic, timeout=10).topics[topic].partitions)
        self.pos = {}
        for p in self.parts:
            low, _ = self.c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            self.pos[p] = low
            if low != 0:
                raise AssertionError(f"{topic} [{p}] starts at offset {low}: retention removed records")
        self.c.assign([TopicPartition(topic, p, 0) for p in self.parts])
        self.TopicPartition = TopicPartition

    def drain(self, timeout=60):
        """Records up to the current end offsets: (partition, offset, timestamp ms, key, value, headers)."""
        ends = {}
        for p in self.parts:
            low, high = self.c.get_watermark_offsets(self.TopicPartition(self.topic, p), timeout=10)
            if low > self.pos[p]:
                raise AssertionError(f"{self.topic} [{p}]: retention removed offsets {self.pos[p]}..{low - 1} unread")
            ends[p] = high
        out = []
        deadline = time.monotonic() + timeout
        while any(self.pos[p] < ends[p] for p in self.parts):
            if time.monotonic() > deadline:
                raise AssertionError(f"reading {self.topic}: positions {self.pos}, ends {ends}")
            for m in self.c.consume(10000, 0.2):
                if m.error():
                    continue
                self.pos[m.partition()] = max(self.pos[m.partition()], m.offset() + 1)
                out.append((m.partition(), m.offset(), m.timestamp()[1], m.key(), m.value(), m.headers()))
        return out

    def close(self):
        self.c.close()


class Scenario:
    """One run: processes, stream, oracle and checks. `failures` collects
    every mismatch (the test asserts it empty); `summary` what was seen."""

    def __init__(self, case, system, run):
        self.case = case
        self.system = system
        self.run = run
        self.failures = []
        self.summary = {"run": run}

    def fail(self, what):
        self.failures.append(what)

    # ------------------------------------------------------------ processes

    def replica(self):
        port = free_port()
        svc = self.system.start("ioc-aggregator", *self.common, *TOPIC_ARGS,
                                "--set", "aggregator.checkpoint_interval=500ms",
                                "--set", "aggregator.stats_interval=500ms",
                                "--set", "kafka.properties.session.timeout.ms=6000",
                                "--set", "kafka.properties.heartbeat.interval.ms=1000",
                                "--set", "process.shutdown_timeout=20s",
                                "--set", f"http.listen=127.0.0.1:{port}")
        svc.port = port
        return svc

    @staticmethod
    def assigned(svc):
        text = http("GET", f"http://127.0.0.1:{svc.port}/metrics", timeout=5)[2]
        return metric(text, "ioc_aggregator_assigned_partitions") or 0

    def wait_assigned(self, replicas, total, what):
        """Until the replicas own `total` input partitions between them, each at least one."""
        def shared():
            counts = [self.assigned(r) for r in replicas]
            return counts if sum(counts) == total and all(c > 0 for c in counts) else None
        return wait_until(shared, 90, what)

    # ------------------------------------------------------------ the run

    def execute(self, bootstrap=None):
        """On the embedded broker, or on the cluster at `bootstrap` (its
        topics created with TOPIC_ARGS)."""
        started = time.monotonic()
        s = self.system
        if bootstrap is None:
            bootstrap = f"127.0.0.1:{free_port()}"
            port = free_port()
            s.start("ioc-broker", "--set", f"broker.bootstrap={bootstrap}", "--set", f"http.listen=127.0.0.1:{port}",
                    *TOPIC_ARGS).wait_http(f"http://127.0.0.1:{port}/readyz")
        self.common = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}"]
        pb = proto_modules(s.workdir)
        import importlib
        pb["transaction"] = importlib.import_module("ioc.v1.transaction_pb2")
        pb["telemetry"] = importlib.import_module("ioc.v1.telemetry_pb2")
        stream = Stream(pb, seed=1000 + self.run)
        total = len(INPUTS) * PARTITIONS

        # 1 replica, reading a backlog and then the live stream.
        producer = Producer(bootstrap, stream, preload=TICKS // 20)
        a = self.replica()
        producer.start()
        a.wait_http(f"http://127.0.0.1:{a.port}/readyz", timeout=60)
        self.wait_assigned([a], total, "one replica owning every partition")
        producer.wait_for(0.20)

        # 1 -> 3.
        b, c = self.replica(), self.replica()
        phases = {"3 replicas": self.wait_assigned([a, b, c], total, "three replicas sharing the partitions")}
        producer.wait_for(0.40)

        # kill -9 of one replica mid-stream (a different one each run), then a new one in its place.
        replicas = [a, b, c]
        victim = replicas.pop(self.run % 3)
        victim.kill9()
        self.summary["killed"] = ["first", "second", "third"][self.run % 3]
        phases["after kill -9"] = self.wait_assigned(replicas, total, "the survivors taking the killed one's partitions")
        producer.wait_for(0.55)
        replicas.append(self.replica())
        phases["restarted"] = self.wait_assigned(replicas, total, "three replicas again")
        producer.wait_for(0.70)

        # 3 -> 1 (SIGTERM).
        keep = replicas.pop(self.run % 3)
        for r in replicas:
            r.proc.send_signal(signal.SIGTERM)
        for r in replicas:
            r.proc.wait(60)
            r.returncode = r.proc.returncode
            r._log.close()
            self.case.assertEqual(r.returncode, 0, f"a replica stopped with SIGTERM exits 0\n{r.log()[-2000:]}")
        phases["1 replica"] = self.wait_assigned([keep], total, "one replica owning every partition again")
        self.summary["assignments"] = phases

        producer.join(180)
        self.case.assertFalse(producer.is_alive(), "the producer finished")
        if producer.error:
            raise producer.error
        self.case.assertEqual(producer.failed, [], "every input record was acknowledged")
        stream_done = time.monotonic()

        # The oracle, from the input topics as an independent consumer reads them.
        views = oracle.load_views(os.path.join(SOURCE, "deploy/config/views.yaml"))
        districts, categories = oracle.load_registry(os.path.join(SOURCE, "deploy/config"))
        truth = oracle.Oracle(views, districts, categories,
                              {"reports": pb["report"].Report, "transactions": pb["transaction"].ServiceTransaction,
                               "telemetry": pb["telemetry"].Telemetry, "air_quality": pb["air_quality"].AirQualityReading})
        now_ms = int(time.time() * 1000)
        inputs = 0
        for topic in INPUTS:
            reader = TopicReader(bootstrap, topic)
            records = reader.drain()
            reader.close()
            records.sort(key=lambda r: (r[0], r[1]))
            for partition, offset, ts, key, value, _ in records:
                truth.feed(topic, partition, offset, ts, value, now_ms)
            inputs += len(records)
        self.case.assertEqual(inputs, stream.count(), "the input topics hold every generated record")
        expected = truth.expected()
        oracle_done = time.monotonic()
        self.summary["oracle_s"] = round(oracle_done - stream_done, 1)
        self.summary["events"] = inputs
        self.summary["outcomes"] = dict(truth.outcomes)
        if not truth.outcomes["duplicate"]:
            self.fail("the stream held no duplicate report ids: the test of counting each once is void")

        # Every window closes by the quiet-partition rule (idle_timeout 10 s) once the stream stops.
        results = Results(bootstrap, pb)
        missing = []
        progress = []  # (seconds, key-windows still without a final), every 10 s: how the finals arrive

        def covered():
            results.read()
            missing[:] = [k for k in expected if k not in results.finals]
            t = round(time.monotonic() - oracle_done)
            if not progress or t - progress[-1][0] >= 10:
                progress.append((t, len(missing)))
            return not missing
        try:
            wait_until(covered, FINALS_WAIT_S, "a final result for every key-window the oracle expects")
        except AssertionError:
            by_view = collections.Counter(k.split("|")[0] for k in missing)
            self.fail(f"{len(missing)} key-windows without a final result ({dict(by_view)}), e.g. {missing[:5]}")
        self.summary["finals_progress"] = progress
        self.summary["finals_s"] = round(time.monotonic() - oracle_done, 1)
        time.sleep(3)  # anything still in flight: duplicates and stray results count too
        results.read()
        self.compare(views, expected, results)
        results.close()
        self.dead_letters(bootstrap, truth)
        self.case.assertEqual(keep.stop(), 0, f"the last replica exits 0 on SIGTERM\n{keep.log()[-2000:]}")
        self.summary["duration_s"] = round(time.monotonic() - started, 1)

    # ------------------------------------------------------------ checks

    def compare(self, views, expected, results):
        per_view = collections.Counter()
        dup_keys = collections.Counter()
        dup_records = 0
        mismatched = collections.Counter()
        for key, (view, count, values) in expected.items():
            per_view[view.name] += 1
            finals = results.finals.get(key)
            if not finals:
                continue  # reported by the wait above
            distinct = {(f[1], f[2]) for f in finals}
            if len(finals) > 1:
                dup_keys[view.name] += 1
                dup_records += len(finals) - 1
            if len(distinct) > 1:
                self.fail(f"{key}: finals with different values: {sorted(distinct)[:4]}")
                continue
            got_count, got_values = next(iter(distinct))
            got = dict(got_values)
            problems = []
            if got_count != count:
                problems.append(f"count {got_count} != {count}")
            if set(got) != set(values):
                problems.append(f"value names {sorted(got)} != {sorted(values)}")
            kinds = oracle.value_kinds(view)
            for name, want in values.items():
                if name in got and not oracle.value_matches(want, got[name], kinds[name]):
                    shown = want if kinds[name] != "quantiles" else f"p{want[1]} of {len(want[2])} values"
                    problems.append(f"{name}={got[name]!r}, expected {shown!r}")
            if problems:
                mismatched[view.name] += 1
                if mismatched[view.name] <= 5:
                    self.fail(f"{key}: {'; '.join(problems)}")
        unexpected = [k for k in results.keys if k not in expected]
        if unexpected:
            self.fail(f"{len(unexpected)} key-windows published that the oracle does not expect, e.g. {unexpected[:5]}")
        # Upserts: the highest revision of a key-window is its final.
        stale = [k for k, (rev, final) in results.top.items() if not final and k in expected]
        if stale:
            self.fail(f"{len(stale)} key-windows whose highest revision is not final, e.g. "
                      f"{[(k, results.top[k]) for k in stale[:3]]}")
        for name, n in mismatched.items():
            self.fail(f"{name}: {n} key-windows differ from the oracle")
        # A revision names one value: for a key, revisions never go down in
        # topic order, and no (key, revision) carries two values.
        if results.down:
            self.fail(f"{len(results.down)} keys whose revision went down, e.g. {results.down[:3]}")
        if results.twice:
            self.fail(f"{len(results.twice)} (key, revision) pairs with two values, e.g. {results.twice[:3]}")
        self.summary["key_windows"] = dict(per_view)
        self.summary["results"] = results.count
        self.summary["duplicate_finals"] = {"key_windows": dict(dup_keys), "extra_records": dup_records}
        missing_views = {v.name for v in views if per_view[v.name] == 0}
        if missing_views:
            self.fail(f"views the stream did not exercise: {sorted(missing_views)}")

    def dead_letters(self, bootstrap, truth):
        reader = TopicReader(bootstrap, DEAD)
        seen = collections.defaultdict(list)
        for _, _, _, _, _, headers in reader.drain():
            h = {k: (v.decode() if v else "") for k, v in (headers or [])}
            where = (h.get("ioc.source.topic"), int(h.get("ioc.source.partition", -1)), int(h.get("ioc.source.offset", -1)))
            seen[where].append(h.get("ioc.error", ""))
        reader.close()
        wrong = []
        for where, verdict in truth.dead.items():
            reasons = seen.get(where)
            if not reasons:
                wrong.append(f"{where}: no dead letter, expected {verdict}")
            elif not all(oracle.reason_matches(verdict, r) for r in reasons):
                wrong.append(f"{where}: reasons {reasons}, expected {verdict}")
        extra = [(w, r) for w, r in seen.items() if w not in truth.dead]
        if extra:
            wrong.append(f"{len(extra)} records dead-lettered that the oracle accepts, e.g. {extra[:3]}")
        for w in wrong[:10]:
            self.fail("dead letter " + w)
        if len(wrong) > 10:
            self.fail(f"... and {len(wrong) - 10} more dead-letter mismatches")
        sorts = collections.Counter(v[0] for v in truth.dead.values())
        self.summary["dead_letters"] = dict(sorts)
        self.summary["duplicate_dead_letters"] = sum(len(r) - 1 for r in seen.values())


class Results:
    """ioc.aggregates.v1 as an upsert consumer sees it: per key, every final
    (revision, count, values) and the highest revision with whether it is final."""

    def __init__(self, bootstrap, pb):
        self.reader = TopicReader(bootstrap, AGGREGATES)
        self.WindowResult = pb["window_result"].WindowResult
        self.finals = collections.defaultdict(list)
        self.top = {}
        self.keys = set()
        self.count = 0
        self.last = {}  # key -> highest revision read so far, in topic order
        self.value_of = {}  # (key, revision) -> value
        self.down = []
        self.twice = []

    def read(self):
        r = self.WindowResult()
        for _, _, _, key, value, _ in self.reader.drain():
            self.count += 1
            r.ParseFromString(value)
            k = key.decode()
            self.keys.add(k)
            value = (r.final, r.count, tuple(sorted((v.name, v.value) for v in r.values)))
            if r.revision < self.last.get(k, 0):
                self.down.append((k, self.last[k], r.revision))
            self.last[k] = max(self.last.get(k, 0), r.revision)
            if self.value_of.setdefault((k, r.revision), value) != value:
                self.twice.append((k, r.revision))
            if r.final:
                self.finals[k].append((r.revision, r.count, value[2]))
            top = self.top.get(k)
            if top is None or r.revision > top[0] or (r.revision == top[0] and not r.final):
                self.top[k] = (r.revision, r.final)

    def close(self):
        self.reader.close()


class AggregatorScaleTest(SystemTestCase):
    def scenario(self, run):
        scenario = Scenario(self, self.system, run)
        scenario.execute()
        line = json.dumps(scenario.summary, sort_keys=True)
        sys.stderr.write(f"\nscale run {run}: {'PASS' if not scenario.failures else 'FAIL'} {line}\n")
        report = os.environ.get("IOC_SCALE_REPORT")
        if report:
            with open(report, "a") as f:
                f.write(json.dumps({"pass": not scenario.failures, "failures": scenario.failures[:60],
                                    **scenario.summary}, sort_keys=True) + "\n")
        self.assertEqual(scenario.failures, [], f"run {run}")

    def test_scale_out_and_crash(self):
        self.scenario(0)
        self.passed()

    @unittest.skipUnless(int(os.environ.get("IOC_SCALE_RUNS", "1")) > 1, "IOC_SCALE_RUNS=N runs the scenario N times")
    def test_scale_out_and_crash_repeatedly(self):
        runs = int(os.environ["IOC_SCALE_RUNS"])
        for run in range(runs):
            if run > 0:  # a fresh broker and fresh replicas for each run
                codes = self.system.stop_all()
                self.assertEqual(set(codes.values()) - {0}, set(), codes)
                self.system.cleanup(False)
                self.system = System()
            self.scenario(run)
        self.passed()


if __name__ == "__main__":
    unittest.main()
