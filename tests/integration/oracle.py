"""An independent oracle for ioc-aggregator: what every view of a views file
must publish as final results, and which input records must end in the
dead-letter topic with which reason, computed from the input topics alone.

It is written from the view language (deploy/config/views.yaml, README
"Views" and "Where a record can go") and the engine's documented semantics,
and shares no code with the aggregator:

- a view takes the records of its source that pass its filter and groups
  them by its group_by fields; its time attribute is occurred_at (event
  time), received_at or ingest (the Kafka record timestamp);
- per view and input partition, in offset order, the watermark is the
  largest time seen so far minus out_of_orderness; a window [start, end) is
  closed once the watermark reaches end + allowed_lateness; a record is late
  for a view when every window it belongs to is closed, and then it is
  dead-lettered (reason "late for <view> (...); <view> (...)") but still
  counted by the other views of its stream that take it;
- tumbling windows are [k*size, (k+1)*size), hopping windows
  [k*advance, k*advance + size), aligned to the epoch;
- aggregations: count, count_where, sum, min, max, mean, last (the value of
  the record with the greatest time; ties: the later one), distinct (exact
  here: the aggregator's HyperLogLog is compared with a tolerance),
  quantiles (exact order statistics here: the aggregator's DDSketch is
  compared within its relative accuracy), and ratios of them.

Records are checked in the order the README gives: decodable with the
required fields, known district, known category (reports), occurred_at at
most max_future_skew ahead of processing time; then the views.

The oracle judges lateness with the ideal watermark (all earlier records of
the partition). The aggregator advances watermarks between poll batches, so
it may accept a record the ideal rule calls late when that record is close to
the line; tests feed records that are either inside their windows' lateness
or days behind, where both agree.
"""

import collections
import math
import os
import re

import yaml

STREAM_TOPICS = {"reports": "ioc.reports.v1", "transactions": "ioc.transactions.v1", "telemetry": "ioc.telemetry.v1",
                 "air_quality": "ioc.air-quality.v1"}
TOPIC_STREAMS = {t: s for s, t in STREAM_TOPICS.items()}

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(text):
    """'500ms', '5s', '1m', '24h', '1d' -> milliseconds."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)", str(text).strip())
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    return int(m.group(1)) * _UNITS[m.group(2)]


class View:
    """One view of a views file, as the oracle reads it."""

    def __init__(self, name, spec, defaults):
        def get(key, default=None):
            return spec.get(key, defaults.get(key, default))

        self.name = name
        self.source = spec["source"]
        self.topic = STREAM_TOPICS[self.source]
        self.filter = {f: (v if isinstance(v, list) else [v]) for f, v in (spec.get("filter") or {}).items()}
        self.group_by = list(spec["group_by"])
        self.time = spec.get("time", "occurred_at")
        w = spec["window"]
        if "tumbling" in w:
            self.size = self.advance = duration_ms(w["tumbling"])
        elif "hopping" in w:
            self.size, self.advance = duration_ms(w["hopping"]), duration_ms(w["advance"])
        else:
            raise NotImplementedError(f"view {name}: the oracle knows tumbling and hopping windows, not {w}")
        self.lateness = duration_ms(get("allowed_lateness", "0s"))
        self.ooo = duration_ms(get("out_of_orderness", "0s"))
        self.aggregations = []  # (kind, name, argument)
        for a in spec["aggregations"]:
            if a == "count":
                self.aggregations.append(("count", "count", None))
                continue
            kinds = [k for k in ("count", "count_where", "sum", "min", "max", "mean", "last", "distinct", "quantiles")
                     if k in a]
            (kind,) = kinds
            if kind == "count_where":
                ((field, value),) = a["count_where"].items()
                arg = (field, value if isinstance(value, list) else [value])
            elif kind == "quantiles":
                arg = (a["of"], list(a["quantiles"]))
            else:
                arg = a[kind]
            self.aggregations.append((kind, a["name"], arg))
        self.ratios = []  # (name, numerator, [denominators])
        for rname, (num, den) in (spec.get("ratios") or {}).items():
            self.ratios.append((rname, num, den if isinstance(den, list) else [den]))

    def windows(self, t):
        """(start, end) of every window holding time t, oldest first."""
        first = (t - self.size) // self.advance + 1
        last = t // self.advance
        return [(j * self.advance, j * self.advance + self.size) for j in range(first, last + 1)]

    def value_names(self):
        names = []
        for kind, name, arg in self.aggregations:
            if kind == "quantiles":
                names += [quantile_name(name, q) for q in arg[1]]
            else:
                names.append(name)
        return names + [r[0] for r in self.ratios]


def quantile_name(name, q):
    pct = q * 100
    text = f"{pct:.6f}".rstrip("0").rstrip(".")
    return f"{name}_p{text}"


def load_views(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    defaults = doc.get("defaults") or {}
    return [View(name, spec, defaults) for name, spec in doc["views"].items()]


def load_registry(config_dir):
    with open(os.path.join(config_dir, "districts.yaml")) as f:
        districts = {str(d["code"]) for d in yaml.safe_load(f)["districts"]}
    with open(os.path.join(config_dir, "categories.yaml")) as f:
        categories = {c["code"] for c in yaml.safe_load(f)["categories"]}
    return districts, categories


def _enum_text(enum_type, number, prefix):
    """An enum value as views name it: CHANNEL_ONLINE -> online; unknown or unspecified -> ''."""
    try:
        name = enum_type.Name(number)
    except ValueError:
        return ""
    if name.endswith("UNSPECIFIED"):
        return ""
    return name[len(prefix):].lower()


def _ts_ms(ts):
    return ts.seconds * 1000 + ts.nanos // 1_000_000


class Decoded:
    """One valid input record: its text and numeric fields by name, its times."""

    def __init__(self, stream, msg, kafka_ts):
        self.stream = stream
        self.kafka_ts = kafka_ts
        self.occurred_at = _ts_ms(msg.occurred_at)
        self.received_at = _ts_ms(msg.received_at)
        self.text = {"district": msg.district}
        self.number = {"occurred_at": self.occurred_at / 1000.0, "received_at": self.received_at / 1000.0}
        if stream == "reports":
            self.text.update(category=msg.category, source=msg.source, id=msg.id)
        elif stream == "transactions":
            t = type(msg)
            self.text.update(id=msg.id, service_code=msg.service_code,
                             service_level=_enum_text(t.ServiceLevel, msg.service_level, "SERVICE_LEVEL_"),
                             channel=_enum_text(t.Channel, msg.channel, "CHANNEL_"),
                             status=_enum_text(t.Status, msg.status, "STATUS_"))
            self.number["processing_ms"] = float(msg.processing_ms)
        elif stream == "telemetry":
            self.text.update(source_id=msg.source_id, unit=msg.unit,
                             kind=_enum_text(type(msg).Kind, msg.kind, "KIND_"))
            self.number["value"] = msg.value
        else:
            self.text.update(station_id=msg.station_id)
            self.number.update(pm25=msg.pm25, pm10=msg.pm10, aqi=msg.aqi)

    def time(self, attribute):
        return {"occurred_at": self.occurred_at, "received_at": self.received_at, "ingest": self.kafka_ts}[attribute]


REQUIRED = {"reports": ("id", "district", "category"), "transactions": ("id", "district"),
            "telemetry": ("source_id", "district"), "air_quality": ("station_id", "district")}


class Window:
    __slots__ = ("count", "events")

    def __init__(self):
        self.count = 0
        self.events = []  # (time, arrival, record)


class Oracle:
    """Feed every input record, per partition in offset order, with the
    processing time at which the aggregator read it (only the future bound
    uses it); then expected() and dead_letters() give what must come out."""

    def __init__(self, views, districts, categories, messages, max_future_skew_ms=300_000,
                 duplicates_window_ms=24 * 3_600_000):
        self.views = views
        self.districts = districts
        self.categories = categories
        self.messages = messages  # stream -> protobuf message class
        self.max_future_skew_ms = max_future_skew_ms
        self.max_time = {}  # (view, topic, partition) -> largest time seen
        self.windows = {}  # (view name, group tuple, start) -> Window
        self.bounds = {}  # same key -> (end, view)
        self.partition_of = {}  # (view name, group tuple) -> (topic, partition)
        self.dead = {}  # (topic, partition, offset) -> ("invalid" | "district" | "category" | "future" | "late", detail)
        self.outcomes = collections.Counter()
        self.arrival = 0
        # A report id counts once per partition: a later record under it, with
        # a Kafka timestamp at most duplicates_window_ms past the newest
        # before it, is a duplicate (counted nowhere, dead-lettered nowhere).
        self.duplicates_window_ms = duplicates_window_ms
        self.first_seen = {}  # (topic, partition) -> {report id: Kafka timestamp of its first record}
        self.newest_ts = {}  # (topic, partition) -> newest Kafka timestamp of a counted report

    def feed(self, topic, partition, offset, kafka_ts, value, now_ms):
        stream = TOPIC_STREAMS[topic]
        where = (topic, partition, offset)
        msg = self.messages[stream]()
        try:
            msg.ParseFromString(value)
        except Exception:
            self.dead[where] = ("invalid", "undecodable")
            self.outcomes["invalid"] += 1
            return
        missing = [f for f in REQUIRED[stream] if not getattr(msg, f)]
        if missing or not msg.HasField("occurred_at"):
            self.dead[where] = ("invalid", f"missing {missing or ['occurred_at']}")
            self.outcomes["invalid"] += 1
            return
        if msg.district not in self.districts:
            self.dead[where] = ("district", msg.district)
            self.outcomes["invalid"] += 1
            return
        if stream == "reports" and msg.category not in self.categories:
            self.dead[where] = ("category", msg.category)
            self.outcomes["invalid"] += 1
            return
        rec = Decoded(stream, msg, kafka_ts)
        if rec.occurred_at > now_ms + self.max_future_skew_ms:
            self.dead[where] = ("future", rec.occurred_at)
            self.outcomes["beyond_time_bound"] += 1
            return
        if stream == "reports":
            part = (topic, partition)
            seen = self.first_seen.setdefault(part, {})
            newest = max(self.newest_ts.get(part, kafka_ts), kafka_ts)
            self.newest_ts[part] = newest
            if msg.id in seen and newest - seen[msg.id] <= self.duplicates_window_ms:
                self.outcomes["duplicate"] += 1
                return
            seen[msg.id] = kafka_ts
        self.arrival += 1
        late = []
        matched = False
        for v in self.views:
            if v.topic != topic:
                continue
            if not all(rec.text.get(f, "") in values for f, values in v.filter.items()):
                continue
            matched = True
            t = rec.time(v.time)
            group = tuple(rec.text.get(g, "") for g in v.group_by)
            wkey = (v.name, topic, partition)
            seen = self.max_time.get(wkey)
            watermark = None if seen is None else seen - v.ooo
            self.max_time[wkey] = t if seen is None else max(seen, t)
            wins = v.windows(t)
            if watermark is not None and wins[-1][1] + v.lateness <= watermark:
                late.append(v.name)
                continue
            owner = self.partition_of.setdefault((v.name, group), (topic, partition))
            if owner != (topic, partition):
                raise AssertionError(f"group {group} of {v.name} comes from two partitions: {owner}, {(topic, partition)}")
            for start, end in wins:
                if watermark is not None and end + v.lateness <= watermark:
                    continue  # this window closed already; the later ones take the record
                k = (v.name, group, start)
                w = self.windows.get(k)
                if w is None:
                    w = self.windows[k] = Window()
                    self.bounds[k] = (end, v)
                w.count += 1
                w.events.append((t, self.arrival, rec))
        if late:
            self.dead[where] = ("late", tuple(late))
            self.outcomes["late"] += 1
        else:
            self.outcomes["accepted" if matched else "unmatched"] += 1

    @staticmethod
    def key(view_name, group, start):
        """The record key of ioc.aggregates.v1."""
        return f"{view_name}|{'/'.join(group)}|{start}"

    def expected(self):
        """Record key -> (view, count, {value name: value}) of every final result."""
        out = {}
        for k, w in self.windows.items():
            view_name, group, start = k
            _, v = self.bounds[k]
            out[self.key(view_name, group, start)] = (v, w.count, self._values(v, w))
        return out

    @staticmethod
    def _values(v, w):
        vals = {}
        for kind, name, arg in v.aggregations:
            if kind == "count":
                vals[name] = float(w.count)
            elif kind == "count_where":
                field, allowed = arg
                vals[name] = float(sum(1 for _, _, r in w.events if r.text.get(field, "") in allowed))
            elif kind in ("sum", "min", "max", "mean"):
                xs = [r.number[arg] for _, _, r in w.events]
                vals[name] = {"sum": math.fsum, "min": min, "max": max,
                              "mean": lambda x: math.fsum(x) / len(x)}[kind](xs)
            elif kind == "last":
                vals[name] = max(w.events, key=lambda e: (e[0], e[1]))[2].number[arg]
            elif kind == "distinct":
                vals[name] = float(len({r.text.get(arg, "") for _, _, r in w.events}))
            elif kind == "quantiles":
                field, qs = arg
                xs = sorted(r.number[field] for _, _, r in w.events)
                for q in qs:
                    vals[quantile_name(name, q)] = ("quantile", q, xs)
        for rname, num, dens in v.ratios:
            den = sum(vals[d] for d in dens)
            vals[rname] = 0.0 if den == 0 else vals[num] / den
        return vals


def value_matches(expected, got, kind, accuracy=0.01, distinct_error=0.05):
    """Compares one value: exact, except quantiles (the value at rank
    q*(n-1) within the sketch's relative accuracy) and distinct counts
    (HyperLogLog: within distinct_error relative, at least 1)."""
    if kind == "quantiles":
        _, q, xs = expected
        rank = q * (len(xs) - 1)
        lo, hi = xs[math.floor(rank)], xs[math.ceil(rank)]
        slack = accuracy * 1.0001
        return lo * (1 - slack) - 1e-9 <= got <= hi * (1 + slack) + 1e-9
    if kind == "distinct":
        return abs(got - expected) <= max(1.0, distinct_error * expected)
    return got == expected


def value_kinds(view):
    """Value name -> aggregation kind (ratios: 'ratio')."""
    kinds = {}
    for kind, name, arg in view.aggregations:
        if kind == "quantiles":
            for q in arg[1]:
                kinds[quantile_name(name, q)] = "quantiles"
        else:
            kinds[name] = kind
    for rname, _, _ in view.ratios:
        kinds[rname] = "ratio"
    return kinds


def late_views(reason):
    """View names listed in a dead letter reason "late for v1 (...); v2 (...)"."""
    if not reason.startswith("late for "):
        return None
    return tuple(re.findall(r"(?:^late for |; )([A-Za-z0-9_.-]+) \(", reason))


def reason_matches(expected, reason):
    """Whether a dead letter's ioc.error fits the oracle's verdict."""
    kind, detail = expected
    if kind == "invalid":
        return reason.startswith("invalid record: ")
    if kind == "district":
        return reason == f"unknown district code '{detail}'"
    if kind == "category":
        return reason == f"unknown category '{detail}'"
    if kind == "future":
        return reason.startswith("beyond time bound: ")
    if kind == "late":
        return late_views(reason) == detail
    return False
