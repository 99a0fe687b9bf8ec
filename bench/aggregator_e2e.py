#!/usr/bin/python3
"""End-to-end benchmark of ioc-aggregator against the embedded broker, with
its baselines measured in the same run:

  1. raw consume: plain librdkafka (bench/raw_consume.cpp) reads the whole of
     ioc.reports.v1 and drops each record, best of three;
  2. aggregator: a fresh consumer group of ioc-aggregator reads the same
     records (decode, validate, window, publish, commit), timed from its
     first counted record to its last (ioc_aggregator_events_total);
  3. latency: reports produced live at a steady rate with event time = now;
     for every final window result, the time from the moment its window
     could close (window end + allowed lateness + out-of-orderness, when the
     watermark passes it) to the result's Kafka timestamp, p50 / p99, for
     the windows that could close while reports still flowed.

Usage: bench/aggregator_e2e.py [--records N] [--partitions P] [--rate R] [--live-seconds S]
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


def produce_reports(bootstrap, pb, count, event_ms, rate=None):
    """Produces `count` reports; event_ms(i) gives each one's event time.
    With `rate`, paces them (records per second) and uses the wall clock."""
    from confluent_kafka import Producer
    # Bulk loads in large batches (the embedded broker walks a partition's
    # batches on every fetch: many tiny batches would measure the broker).
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5 if rate else 1000, "batch.num.messages": 10000,
                  "batch.size": 4000000, "queue.buffering.max.messages": 1000000, "compression.type": "lz4"})
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
        produce(p, "ioc.reports.v1", r.SerializeToString(), r.district.encode())
        if i % 10000 == 0:
            p.poll(0)
    p.flush(60)


def cpu_seconds(pid):
    """User + system CPU time of a process so far (all its threads)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def events_total(url):
    text = http("GET", url)[2]
    return sum(metric(text, "ioc_aggregator_events_total", {"outcome": o}) or 0
               for o in ("accepted", "late", "invalid", "beyond_time_bound", "unmatched", "pruned"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--partitions", type=int, default=24, help="of ioc.reports.v1 (about 5 MB kept per partition)")
    ap.add_argument("--rate", type=float, default=5000, help="reports per second in the latency phase")
    ap.add_argument("--live-seconds", type=float, default=30)
    args = ap.parse_args()

    system = System()
    ok = False
    try:
        bootstrap = f"127.0.0.1:{free_port()}"
        parts = f"topics.partitions.ioc.reports.v1={args.partitions}"
        bport = free_port()
        broker = system.start("ioc-broker", "--config", CONFIG, "--set", f"broker.bootstrap={bootstrap}",
                              "--set", f"http.listen=127.0.0.1:{bport}", "--set", parts)
        broker.wait_http(f"http://127.0.0.1:{bport}/readyz")
        pb = proto_modules(system.workdir)
        t0 = int(time.time() * 1000) - 3600_000
        step = max(1, 1800_000 // args.records)  # event times over half an hour, in order
        produce_reports(bootstrap, pb["report"], args.records, lambda i: t0 + i * step)
        # What the broker kept (it prunes past ~5 MB a partition): both readers get exactly these.
        from confluent_kafka import Consumer, TopicPartition
        probe = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}"})
        marks = [probe.get_watermark_offsets(TopicPartition("ioc.reports.v1", p), timeout=10)
                 for p in range(args.partitions)]
        probe.close()
        records = sum(hi - lo for lo, hi in marks)

        # 1. raw consume: plain librdkafka, from the first record to the last
        def raw():
            out = subprocess.run([os.path.join(os.environ["IOC_BIN"], "ioc-bench-raw-consume"), bootstrap,
                                  "ioc.reports.v1", str(records)], capture_output=True, text=True, timeout=400,
                                 check=True)
            n, secs, cpu = out.stdout.split()
            return int(n) / float(secs), float(cpu) / int(n)
        raw_rate, raw_cpu = max(raw() for _ in range(3))

        # 2. the aggregator on the same records
        aport = free_port()
        common = ["--config", CONFIG, "--set", f"kafka.bootstrap_servers={bootstrap}", "--set", parts]
        agg = system.start("ioc-aggregator", *common, "--set", f"http.listen=127.0.0.1:{aport}",
                           "--set", f"aggregator.group_id=bench-{uuid.uuid4()}")
        url = f"http://127.0.0.1:{aport}/metrics"
        agg.wait_http(f"http://127.0.0.1:{aport}/healthz")
        cpu_start = cpu_seconds(agg.proc.pid)
        def progress():
            n = events_total(url)
            if os.environ.get("IOC_BENCH_VERBOSE"):
                print(f"aggregator: {n:.0f} records", file=sys.stderr)
            return time.time() if n >= records else None
        done = wait_until(progress, 600, "every record")

        # From the assignment (its log line) to the last record counted, as
        # the raw consumer is timed from its assignment to its last record.
        def assigned_at():
            for line in agg.log().splitlines():
                if '"msg":"partitions assigned"' in line:
                    ts = json.loads(line)["ts"]
                    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
            return None
        agg_rate = records / (done - wait_until(assigned_at, 10, "the assignment log line"))
        rss_kb = int(open(f"/proc/{agg.proc.pid}/status").read().split("VmHWM:")[1].split()[0])
        agg_cpu = (cpu_seconds(agg.proc.pid) - cpu_start) / records
        agg.stop()

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

        print(f"\n| measure | value |\n|---|---:|")
        print(f"| records (ioc.reports.v1, {args.partitions} partitions; {args.records} produced) | {records} |")
        print(f"| raw consume (plain librdkafka, best of 3) | {raw_rate:,.0f} records/s |")
        print(f"| ioc-aggregator (fresh group, same records) | {agg_rate:,.0f} records/s |")
        print(f"| **ratio aggregator / raw** | **{agg_rate / raw_rate:.2f}** |")
        print(f"| CPU per record (all threads): raw / aggregator | {raw_cpu * 1e6:.2f} / {agg_cpu * 1e6:.2f} µs |")
        print(f"| aggregator peak RSS (VmHWM), default views | {rss_kb / 1024:.0f} MiB |")
        print(f"| peak RSS with {open_windows:,.0f} open key-windows (one per report; fetch queue 4 MB) | "
              f"{mem_kb / 1024:.0f} MiB, {base_kb / 1024:.0f} MiB before the first record: "
              f"{(mem_kb - base_kb) / 1024 / open_windows * 1e6:,.0f} MiB per million |")
        print(f"| window close → final result published, p50 / p99 ({len(latencies)} results, "
              f"{args.rate:.0f} reports/s live, {WINDOW_S} s windows) | {p50:.0f} / {p99:.0f} ms |")
        ok = True
    finally:
        system.stop_all()
        system.cleanup(not ok)


if __name__ == "__main__":
    main()
