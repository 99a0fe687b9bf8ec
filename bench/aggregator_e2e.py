#!/usr/bin/python3
"""End-to-end benchmark of ioc-aggregator, with its baselines measured in
the same run.

Against the embedded broker (the default: ioc-broker, librdkafka's mock
cluster):

  1. raw consume: plain librdkafka (bench/raw_consume.cpp) reads the whole of
     ioc.reports.v1 and drops each record, best of three;
  2. aggregator: a fresh consumer group of ioc-aggregator reads the same
     records (decode, validate, window, publish, commit), timed from its
     assignment to its last counted record (ioc_aggregator_events_total);
  2b. memory: a view keyed by report id holds one open window per record;
  3. latency: reports produced live at a steady rate with event time = now;
     for every final window result, the time from the moment its window
     could close (window end + allowed lateness + out-of-orderness, when the
     watermark passes it) to the result's Kafka timestamp, p50 / p99, for
     the windows that could close while reports still flowed.

Against a real Kafka cluster (--kafka: ZooKeeper and --brokers brokers
started from the Apache Kafka distribution in IOC_KAFKA_HOME, as the
real-Kafka test lane does; --bootstrap: a running cluster whose input topics
are otherwise empty): ioc-topics creates the topics, --records reports
(5,000,000 by default; real Kafka keeps them all) are preloaded into
ioc.reports.v1 with the same generator, each reader reads them once
uncounted (a fresh broker is slow for its first reader), and then, --rounds
times, alternately:

  a. raw consume of the whole topic, as in 1;
  b. ioc-aggregator in a fresh consumer group reads the same backlog with
     the shipped views, as in 2.

Printed: each round, the best rate of each and their ratio, and the CPU
seconds per record of each process (all its threads: getrusage of the raw
consumer, /proc/<pid>/stat of the aggregator; with --kafka also of the
brokers while they serve each reader, above their idle rate). Phases 2b and
3 run on the embedded broker only.

Examples:
  bench/aggregator_e2e.py                         # embedded broker, 1M records
  IOC_KAFKA_HOME=/opt/kafka_2.13-3.6.0 bench/aggregator_e2e.py --kafka
  IOC_KAFKA_HOME=/opt/kafka_2.13-3.6.0 bench/aggregator_e2e.py --kafka --brokers 3
  bench/aggregator_e2e.py --bootstrap kafka-1:9092,kafka-2:9092 --records 5000000

Needs the built binaries (IOC_BIN, default build/bin) and
python3-confluent-kafka (scripts/install-deps.sh installs it)."""

import argparse
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
os.environ.setdefault("IOC_BIN", os.path.join(ROOT, "build/bin"))
os.environ.setdefault("IOC_SOURCE", ROOT)

from harness import (CONFIG, DISTRICTS, System, free_port, http, metric, produce, proto_modules, report_view,  # noqa: E402
                     wait_until)

CATEGORIES = ["flood", "landslide", "fire", "traffic_accident", "road_damage", "pollution", "public_order",
              "utility_outage", "health_emergency", "other"]
WINDOW_S, LATENESS_S, OOO_S = 5, 2, 1  # the latency phase's view: 5 s windows
TOPIC = "ioc.reports.v1"


def produce_reports(bootstrap, pb, count, event_ms, rate=None, batch_bytes=4000000):
    """Produces `count` reports; event_ms(i) gives each one's event time.
    With `rate`, paces them (records per second) and uses the wall clock."""
    from confluent_kafka import Producer
    # Bulk loads in large batches (the embedded broker walks a partition's
    # batches on every fetch: many tiny batches would measure the broker).
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5 if rate else 1000, "batch.num.messages": 10000,
                  "batch.size": batch_bytes, "queue.buffering.max.messages": 1000000, "compression.type": "lz4"})
    rnd = random.Random(7)
    start = time.monotonic()
    for i in range(count):
        if rate:
            due = start + i / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(min(0.002, wait))
        # As the intake writes them: a description, a location, a reporter, sometimes a photo.
        r = pb.Report(id=str(uuid.UUID(int=rnd.getrandbits(128))), category=rnd.choice(CATEGORIES),
                      district=rnd.choice(DISTRICTS), source="api", description="Nước ngập sâu trên đường, xe máy chết máy",
                      reporter_id=f"r-{rnd.randrange(500)}")
        r.location.lat = 19.3 + rnd.random() * 1.4
        r.location.lon = 104.4 + rnd.random() * 1.7
        if rnd.random() < 0.3:
            r.media_urls.append(f"https://media.example.org/ioc/{i}.jpg")
        t = event_ms(i)
        r.occurred_at.FromMilliseconds(t)
        r.received_at.FromMilliseconds(t)
        produce(p, TOPIC, r.SerializeToString(), r.district.encode())
        if i % 10000 == 0:
            p.poll(0)
    p.flush(60)


def preload(bootstrap, pb, records, **options):
    """The bulk load: `records` reports in event-time order, 1 ms or more
    apart over at least half an hour, the last of them well before now."""
    step = max(1, 1800_000 // records)
    t0 = int(time.time() * 1000) - max(3600_000, records * step + 600_000)
    produce_reports(bootstrap, pb, records, lambda i: t0 + i * step, **options)


def topic_records(bootstrap, topic):
    """Records a topic holds now (high minus low watermark, all partitions)."""
    from confluent_kafka import Consumer, TopicPartition
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}"})
    try:
        parts = probe.list_topics(topic, timeout=10).topics[topic].partitions
        marks = [probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in parts]
    finally:
        probe.close()
    return sum(hi - lo for lo, hi in marks)


def cpu_seconds(pid):
    """User + system CPU time of a process so far (all its threads)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def events_total(url):
    text = http("GET", url)[2]
    return sum(metric(text, "ioc_aggregator_events_total", {"outcome": o}) or 0
               for o in ("accepted", "late", "invalid", "beyond_time_bound", "unmatched", "pruned"))


def raw_consume(bootstrap, records):
    """One read of the whole topic by plain librdkafka, from its assignment
    to its last record: (records/s, CPU seconds per record)."""
    out = subprocess.run([os.path.join(os.environ["IOC_BIN"], "ioc-bench-raw-consume"), bootstrap, TOPIC,
                          str(records)], capture_output=True, text=True, timeout=400, check=True)
    n, secs, cpu = out.stdout.split()
    return int(n) / float(secs), float(cpu) / int(n)


def aggregator_read(system, common, records, group, ready_timeout=30, others_cpu=lambda: 0.0):
    """A fresh consumer group of ioc-aggregator reads `records` records:
    (records/s, CPU seconds per record, peak RSS in kB, CPU seconds per
    record that others_cpu() counted meanwhile, report ids remembered to
    tell duplicates and their bytes)."""
    port = free_port()
    agg = system.start("ioc-aggregator", *common, "--set", f"http.listen=127.0.0.1:{port}",
                       "--set", f"aggregator.group_id={group}")
    url = f"http://127.0.0.1:{port}/metrics"
    agg.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=ready_timeout)
    cpu_start, others_start = cpu_seconds(agg.proc.pid), others_cpu()

    def progress():
        n = events_total(url)
        if os.environ.get("IOC_BENCH_VERBOSE"):
            print(f"aggregator: {n:.0f} records", file=sys.stderr)
        return time.time() if n >= records else None
    done = wait_until(progress, 600, "every record")
    cpu, others = cpu_seconds(agg.proc.pid) - cpu_start, others_cpu() - others_start

    # From the assignment (its log line) to the last record counted, as
    # the raw consumer is timed from its assignment to its last record.
    def assigned_at():
        for line in agg.log().splitlines():
            if '"msg":"partitions assigned"' in line:
                ts = json.loads(line)["ts"]
                return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
        return None
    rate = records / (done - wait_until(assigned_at, 10, "the assignment log line"))
    rss_kb = int(open(f"/proc/{agg.proc.pid}/status").read().split("VmHWM:")[1].split()[0])
    time.sleep(1.5)  # a gauge refresh
    text = http("GET", url)[2]
    seen = (metric(text, "ioc_aggregator_seen_ids") or 0, metric(text, "ioc_aggregator_seen_ids_bytes") or 0)
    agg.stop()
    return rate, cpu / records, rss_kb, others / records, seen


def embedded(args):
    system = System()
    ok = False
    try:
        bootstrap = f"127.0.0.1:{free_port()}"
        parts = f"topics.partitions.{TOPIC}={args.partitions}"
        bport = free_port()
        broker = system.start("ioc-broker", "--config", CONFIG, "--set", f"broker.bootstrap={bootstrap}",
                              "--set", f"http.listen=127.0.0.1:{bport}", "--set", parts)
        broker.wait_http(f"http://127.0.0.1:{bport}/readyz")
        pb = proto_modules(system.workdir)
        preload(bootstrap, pb["report"], args.records)
        # What the broker kept (it prunes past ~5 MB a partition): both readers get exactly these.
        records = topic_records(bootstrap, TOPIC)

        # 1. raw consume: plain librdkafka, from the first record to the last
        raw_rate, raw_cpu = max(raw_consume(bootstrap, records) for _ in range(3))

        # 2. the aggregator on the same records
        common = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}", "--set", parts]
        agg_rate, agg_cpu, rss_kb, _, (seen_ids, seen_bytes) = aggregator_read(system, common, records,
                                                                              f"bench-{uuid.uuid4()}")
        # 2a. the same without telling duplicates (aggregator.duplicates_window=0)
        nodup_rate, nodup_cpu, nodup_rss_kb, _, _ = aggregator_read(
            system, [*common, "--set", "aggregator.duplicates_window=0"], records, f"bench-{uuid.uuid4()}")

        # 2b. memory per open key-window, from the process: a view keyed by
        # report id (every record its own group) whose windows all stay open.
        views = os.path.join(system.workdir, "one-key-per-record.yaml")
        with open(views, "w") as f:
            f.write("views:\n  per_report:\n    source: reports\n    group_by: [district, id]\n"
                    "    window: {tumbling: 1d}\n    allowed_lateness: 1d\n    idle_timeout: 0s\n"
                    "    sample_ids: 0\n    aggregations: [count]\n")
        mport = free_port()
        mem = system.start("ioc-aggregator", *common, "--set", f"http.listen=127.0.0.1:{mport}",
                           "--set", f"aggregator.group_id=bench-mem-{uuid.uuid4()}", "--set", f"aggregator.views={views}",
                           "--set", "aggregator.checkpoint_interval=1h",
                           # A small fetch queue: the peak is the windows, not records read ahead.
                           "--set", "kafka.properties.queued.max.messages.kbytes=4096")
        murl = f"http://127.0.0.1:{mport}/metrics"
        mem.wait_http(f"http://127.0.0.1:{mport}/healthz")
        base_kb = int(open(f"/proc/{mem.proc.pid}/status").read().split("VmRSS:")[1].split()[0])
        wait_until(lambda: events_total(murl) >= records, 600, "every record in per_report")
        time.sleep(2)  # a gauge refresh
        open_windows = metric(http("GET", murl)[2], "ioc_aggregator_open_windows", {"view": "per_report"})
        mem_kb = int(open(f"/proc/{mem.proc.pid}/status").read().split("VmHWM:")[1].split()[0])
        mem.stop()

        # 3. latency from window close to result, live, on a fresh broker with
        # the default partitions (every partition gets districts' reports)
        broker.stop()
        broker = system.start("ioc-broker", "--config", CONFIG, "--set", f"broker.bootstrap={bootstrap}",
                              "--set", f"http.listen=127.0.0.1:{bport}")
        broker.wait_http(f"http://127.0.0.1:{bport}/readyz")
        common = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}"]
        lport = free_port()
        live = system.start("ioc-aggregator", *common, "--set", f"http.listen=127.0.0.1:{lport}",
                            "--set", f"aggregator.group_id=bench-live-{uuid.uuid4()}",
                            *report_view(window=f"{WINDOW_S}s", lateness=f"{LATENESS_S}s", ooo=f"{OOO_S}s"))
        live.wait_http(f"http://127.0.0.1:{lport}/healthz")
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}", "enable.auto.commit": False})
        topic = "ioc.aggregates.v1"
        tps = [TopicPartition(topic, p) for p in c.list_topics(topic, timeout=10).topics[topic].partitions]
        c.assign([TopicPartition(topic, tp.partition, c.get_watermark_offsets(tp, timeout=10)[1]) for tp in tps])
        wait_until(lambda: http("GET", f"http://127.0.0.1:{lport}/readyz")[0] == 200, 60, "live aggregator ready")
        count = int(args.rate * args.live_seconds)
        live_start_ms = int(time.time() * 1000)
        produce_reports(bootstrap, pb["report"], count, lambda i: int(time.time() * 1000), rate=args.rate)
        # Windows that could close while reports still flowed: after the last
        # report the watermark moves only by the quiet-partition rule
        # (idle_timeout), which is the event-time contract, not processing.
        live_end_ms = int(time.time() * 1000)
        latencies = []
        deadline = time.monotonic() + WINDOW_S + LATENESS_S + OOO_S + 15
        while time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            r = pb["window_result"].WindowResult()
            r.ParseFromString(m.value())
            end_ms = r.window_end.seconds * 1000 + r.window_end.nanos // 1_000_000
            closes_ms = end_ms + (LATENESS_S + OOO_S) * 1000
            # not the first phase's windows (read again by this group), nor those closed by idleness
            if r.final and end_ms > live_start_ms and closes_ms <= live_end_ms:
                latencies.append(m.timestamp()[1] - closes_ms)
                if os.environ.get("IOC_BENCH_VERBOSE"):
                    print(f"final: window end {end_ms - live_start_ms} ms after the start, partition {m.partition()}, "
                          f"latency {latencies[-1]} ms", file=sys.stderr)
        c.close()
        live.stop()
        latencies.sort()
        p50 = statistics.median(latencies) if latencies else float("nan")
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan")

        print("\n| measure | value |\n|---|---:|")
        print(f"| records ({TOPIC}, {args.partitions} partitions; {args.records} produced) | {records} |")
        print(f"| raw consume (plain librdkafka, best of 3) | {raw_rate:,.0f} records/s |")
        print(f"| ioc-aggregator (fresh group, same records) | {agg_rate:,.0f} records/s |")
        print(f"| **ratio aggregator / raw** | **{agg_rate / raw_rate:.2f}** |")
        print(f"| CPU per record (all threads): raw / aggregator | {raw_cpu * 1e6:.2f} / {agg_cpu * 1e6:.2f} µs |")
        print(f"| aggregator peak RSS (VmHWM), default views | {rss_kb / 1024:.0f} MiB |")
        print(f"| report ids remembered to tell duplicates (24 h window) | {seen_ids:,.0f} ids, "
              f"{seen_bytes / max(seen_ids, 1):.0f} bytes each |")
        print(f"| without telling duplicates (duplicates_window=0): rate, CPU per record, peak RSS | "
              f"{nodup_rate:,.0f} records/s, {nodup_cpu * 1e6:.2f} µs, {nodup_rss_kb / 1024:.0f} MiB |")
        print(f"| **ratio telling duplicates / not** | **{agg_rate / nodup_rate:.2f}** |")
        print(f"| peak RSS with {open_windows:,.0f} open key-windows (one per report; fetch queue 4 MB) | "
              f"{mem_kb / 1024:.0f} MiB, {base_kb / 1024:.0f} MiB before the first record: "
              f"{(mem_kb - base_kb) / 1024 / open_windows * 1e6:,.0f} MiB per million |")
        print(f"| window close → final result published, p50 / p99 ({len(latencies)} results, "
              f"{args.rate:.0f} reports/s live, {WINDOW_S} s windows) | {p50:.0f} / {p99:.0f} ms |")
        ok = True
    finally:
        system.stop_all()
        system.cleanup(not ok)


def real_kafka(args):
    from kafka_cluster import KAFKA_HOME, KafkaCluster, run_topics
    if args.kafka and not os.path.exists(os.path.join(KAFKA_HOME, "bin", "kafka-run-class.sh")):
        sys.exit("--kafka needs IOC_KAFKA_HOME, an Apache Kafka distribution (bin/kafka-run-class.sh inside), "
                 f"e.g. IOC_KAFKA_HOME=/opt/kafka_2.13-3.6.0; it is {KAFKA_HOME!r}")

    def say(what):
        print(f"{time.strftime('%H:%M:%S')} {what}", file=sys.stderr, flush=True)

    system = System()
    ok = False
    try:
        load_before = os.getloadavg()[0]
        cluster = None
        if args.kafka:
            cluster = KafkaCluster(system.workdir, args.brokers)
            system.after_stop.append(cluster.stop)
            say(f"starting ZooKeeper and {args.brokers} broker(s) from {KAFKA_HOME}")
            cluster.start()
            bootstrap = cluster.bootstrap
            replication = args.replication or min(3, args.brokers)
            where = f"{os.path.basename(os.path.normpath(KAFKA_HOME))}, {args.brokers} broker(s) on this host"
        else:
            bootstrap = args.bootstrap
            replication = -1 if args.replication is None else args.replication
            where = f"the cluster at {bootstrap}"

        idle = 0.0  # the brokers' CPU seconds per second with no client (measured below)

        def brokers_cpu():
            """CPU seconds of the brokers we started beyond their idle rate
            (0 for a cluster we did not start); differences count."""
            if not cluster:
                return 0.0
            return sum(cpu_seconds(p.pid) for p, _ in cluster.procs.values()) - idle * time.monotonic()

        parts = ["--set", f"topics.partitions.{TOPIC}={args.partitions}"]
        r = run_topics(bootstrap, *parts, replication=replication)
        if r.returncode != 0:
            raise RuntimeError(f"ioc-topics failed (exit {r.returncode}):\n{r.stdout}{r.stderr}")
        for other in ("ioc.transactions.v1", "ioc.telemetry.v1"):
            n = topic_records(bootstrap, other)
            if n:
                raise RuntimeError(f"{other} holds {n} records: the aggregator would read them too; "
                                   "use a cluster whose input topics are empty")
        before = topic_records(bootstrap, TOPIC)
        pb = proto_modules(system.workdir)
        say(f"preloading {args.records:,} reports into {TOPIC} ({args.partitions} partitions, "
            f"replication {replication})")
        t = time.monotonic()
        # The broker's message.max.bytes (1 MB by default) bounds a batch.
        preload(bootstrap, pb["report"], args.records, batch_bytes=1000000)
        records = topic_records(bootstrap, TOPIC)
        if records - before != args.records:
            raise RuntimeError(f"{TOPIC} grew by {records - before} records, {args.records} were produced")
        say(f"preloaded in {time.monotonic() - t:.0f} s; {records:,} records to read")

        common = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}", *parts,
                  "--set", f"topics.replication_factor={replication}",
                  # librdkafka 2.0 can hang in its teardown: cut it short
                  "--set", "process.shutdown_timeout=10s"]
        # A fresh broker is slower for the first reader of each kind (its
        # JIT; for the aggregator also the group coordinator and the output
        # topics' first writes): one read of each, not counted.
        say("one read by each, not counted (warms the broker)")
        raw_consume(bootstrap, records)
        aggregator_read(system, common, records, f"bench-warm-{uuid.uuid4()}", ready_timeout=90)
        if cluster:
            # Brokers use CPU with no client at all (replica fetchers, timers):
            # per-record figures count only what is above that.
            b0, t0 = brokers_cpu(), time.monotonic()
            time.sleep(5)
            idle = (brokers_cpu() - b0) / (time.monotonic() - t0)
        rounds = []
        for i in range(args.rounds):
            b0 = brokers_cpu()
            raw_rate, raw_cpu = raw_consume(bootstrap, records)
            b1 = brokers_cpu()
            agg_rate, agg_cpu, rss_kb, agg_brokers, _ = aggregator_read(system, common, records, f"bench-{uuid.uuid4()}",
                                                                    ready_timeout=90, others_cpu=brokers_cpu)
            rounds.append({"raw": raw_rate, "agg": agg_rate, "raw_cpu": raw_cpu, "agg_cpu": agg_cpu,
                           "raw_brokers": (b1 - b0) / records, "agg_brokers": agg_brokers, "rss_kb": rss_kb})
            say(f"round {i + 1}: raw {raw_rate:,.0f} records/s, aggregator {agg_rate:,.0f} records/s, "
                f"ratio {agg_rate / raw_rate:.2f}")
        load_after = os.getloadavg()[0]

        us = 1e6
        print(f"\nioc-aggregator against real Kafka: {where}; {TOPIC}: {args.partitions} partitions, replication "
              f"{replication if replication > 0 else 'cluster default'}, {records:,} records "
              f"({args.records:,} preloaded)")
        print("\n| round | raw consume | ioc-aggregator | ratio | CPU per record: raw / aggregator | "
              "broker CPU per record: serving raw / aggregator |\n|---:|---:|---:|---:|---:|---:|")
        for i, r in enumerate(rounds):
            brokers = (f"{r['raw_brokers'] * us:.2f} / {r['agg_brokers'] * us:.2f} µs" if cluster else "-")
            print(f"| {i + 1} | {r['raw']:,.0f}/s | {r['agg']:,.0f}/s | {r['agg'] / r['raw']:.2f} | "
                  f"{r['raw_cpu'] * us:.2f} / {r['agg_cpu'] * us:.2f} µs | {brokers} |")
        best_raw = max(r["raw"] for r in rounds)
        best_agg = max(r["agg"] for r in rounds)
        ratios = [r["agg"] / r["raw"] for r in rounds]

        def med(key):
            return statistics.median(r[key] for r in rounds) * us
        print("\n| measure | value |\n|---|---:|")
        print(f"| records ({TOPIC}, {args.partitions} partitions; {args.records} preloaded) | {records} |")
        print(f"| raw consume (plain librdkafka, best of {len(rounds)}) | {best_raw:,.0f} records/s |")
        print(f"| ioc-aggregator (fresh group each round, best of {len(rounds)}) | {best_agg:,.0f} records/s |")
        print(f"| **ratio aggregator / raw** (best / best; per round {min(ratios):.2f}–{max(ratios):.2f}) | "
              f"**{best_agg / best_raw:.2f}** |")
        print(f"| CPU per record (all threads, median of {len(rounds)}): raw / aggregator | "
              f"{med('raw_cpu'):.2f} / {med('agg_cpu'):.2f} µs |")
        if cluster:
            print(f"| broker CPU per record (all brokers, above their idle {idle:.2f} cores; median): "
                  f"serving raw / aggregator | {med('raw_brokers'):.2f} / {med('agg_brokers'):.2f} µs |")
        print(f"| aggregator peak RSS (VmHWM), default views | {max(r['rss_kb'] for r in rounds) / 1024:.0f} MiB |")
        print(f"| load average (1 min) before / after | {load_before:.1f} / {load_after:.1f} |")
        ok = True
    finally:
        system.stop_all()
        system.cleanup(not ok)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int,
                    help="reports produced for the bulk reads (default 1,000,000; on real Kafka 5,000,000)")
    ap.add_argument("--partitions", type=int, default=24,
                    help=f"of {TOPIC} (default 24; the embedded broker keeps about 5 MB per partition)")
    ap.add_argument("--rate", type=float, default=5000, help="reports per second in the latency phase (embedded broker)")
    ap.add_argument("--live-seconds", type=float, default=30, help="length of the latency phase (embedded broker)")
    real = ap.add_argument_group("real Kafka (instead of the embedded broker)")
    where = real.add_mutually_exclusive_group()
    where.add_argument("--kafka", action="store_true",
                       help="start ZooKeeper and --brokers brokers from the Apache Kafka distribution in "
                            "IOC_KAFKA_HOME (tests/integration/kafka_cluster.py), data under a temporary folder")
    where.add_argument("--bootstrap", metavar="HOST:PORT[,...]",
                       help="use this running cluster (a PLAINTEXT listener): ioc-topics creates what is missing; the preload is added "
                            "to ioc.reports.v1 and both readers read all of it; ioc.transactions.v1 and "
                            "ioc.telemetry.v1 must be empty")
    real.add_argument("--brokers", type=int, default=1,
                      help="with --kafka (default 1; with 3 or more, min.insync.replicas is 2)")
    real.add_argument("--replication", type=int,
                      help="of the topics ioc-topics creates (default: with --kafka min(3, brokers); "
                           "with --bootstrap the cluster's default.replication.factor)")
    real.add_argument("--rounds", type=int, default=3,
                      help="rounds of raw consume then aggregator, each a full read of the backlog (default 3)")
    args = ap.parse_args()
    if args.kafka or args.bootstrap:
        args.records = args.records or 5_000_000
        real_kafka(args)
    else:
        args.records = args.records or 1_000_000
        embedded(args)


if __name__ == "__main__":
    main()
