"""The metric names the ioc-* services export, read from their sources, and
the metric names a PromQL expression uses: what lets the suite check that
dashboards and rules only ask for metrics that exist."""

import glob
import os
import re

from harness import SOURCE

# Recorded series are named level:metric:operations (Prometheus' convention).
_IDENT = re.compile(r"(?<![\w:])([a-zA-Z_][a-zA-Z0-9_]*(?::[a-zA-Z0-9_]+)*)\s*(\{|\[|\)|$|\s|,|>|<|=|!|\*|/|\+|-)")
# Words of PromQL that are not series: functions, operators, modifiers.
_PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool", "inf",
    "nan", "le", "time", "vector", "scalar", "abs", "absent", "absent_over_time", "ceil", "changes", "clamp",
    "clamp_max", "clamp_min", "delta", "deriv", "exp", "floor", "histogram_quantile", "idelta", "increase", "irate",
    "label_replace", "label_join", "ln", "log2", "log10", "predict_linear", "rate", "resets", "round", "sort",
    "sort_desc", "sqrt", "timestamp", "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
    "count_over_time", "quantile_over_time", "last_over_time", "present_over_time", "stddev_over_time",
}


def exported_metrics():
    """Every metric family name registered in services/ and libs/, with the
    series names a histogram adds, and process_* from prometheus-cpp's
    process collector."""
    names = set()
    for path in glob.glob(os.path.join(SOURCE, "services/*/*.[ch]pp")) + glob.glob(
            os.path.join(SOURCE, "libs/*/src/*.cpp")) + glob.glob(os.path.join(SOURCE, "libs/*/include/ioc/*/*.hpp")):
        with open(path, encoding="utf-8") as f:
            names.update(re.findall(r'"(ioc_[a-z0-9_]+)"', f.read()))
    for n in list(names):
        names.update({n + "_bucket", n + "_sum", n + "_count"})
    names.update({"up", "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                  "process_start_time_seconds", "process_virtual_memory_bytes", "process_max_fds"})
    return names


def series_names(expr):
    """The metric names (and recorded series) an expression selects. Label
    values, label names inside braces and durations are not names."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # string literals
    text = re.sub(r"\{[^}]*\}", "{}", text)                    # label matchers
    text = re.sub(r"\[[^\]]*\]", "[]", text)                   # ranges, subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1()", text)
    text = re.sub(r"\$\w+", "", text)                           # Grafana variables
    names = set()
    for m in _IDENT.finditer(text):
        word = m.group(1)
        after = text[m.end(1):].lstrip()
        if word in _PROMQL_WORDS or after.startswith("("):
            continue
        if re.fullmatch(r"\d+[smhdwy]?", word):
            continue
        names.add(word)
    return names
