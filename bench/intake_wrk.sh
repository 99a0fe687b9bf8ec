#!/usr/bin/env bash
# End-to-end HTTP load benchmark of ioc-intake with wrk, against a baseline
# measured in the same run on the same server.
#
# Starts ioc-broker and ioc-intake on free ports in a temporary directory and,
# for every connection count, measures three cases:
#   noop     POST /bench/noop: the same server, connection handling and body
#            reading, answered at once (the baseline)
#   reports  POST /api/v1/reports with the broker up: 202 "accepted" once the
#            broker acknowledged the record (acks=all)
#   spool    POST /api/v1/reports with the broker killed: 202 "queued" once the
#            report is fdatasync'ed to the spool (the spool grows; fine here)
# The noop and reports cases run first for every connection count, then the
# broker is killed and the spool case runs for every connection count.
#
# Every answer is checked (bench/intake_wrk.lua): a run with a non-202, a
# socket error or a report answered by the other path is listed as an error,
# not as a speed.
#
# Environment:
#   IOC_BENCH_CONNECTIONS  connection counts             (default "1 4 16 64")
#   IOC_BENCH_DURATION     seconds measured per case     (default 10)
#   IOC_BENCH_WARMUP       seconds run, not measured, before each case (default 2)
#   IOC_BENCH_THREADS      wrk threads, at most the connection count (default 1)
#   IOC_BIN                where ioc-broker and ioc-intake are
#                          (default ${IOC_BUILD_DIR:-<repo>/build}/bin; built with
#                          scripts/build.sh when missing there)
#   IOC_BENCH_KEEP=1       keep the temporary directory (logs, spool)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/install-deps.sh"

connections=${IOC_BENCH_CONNECTIONS:-1 4 16 64}
duration=${IOC_BENCH_DURATION:-10}
warmup=${IOC_BENCH_WARMUP:-2}
wrk_threads=${IOC_BENCH_THREADS:-1}
config=$root/deploy/config/ioc.yaml
lua=$root/bench/intake_wrk.lua

if [[ -n ${IOC_BIN:-} ]]; then
  bin=$IOC_BIN
else
  bin=${IOC_BUILD_DIR:-$root/build}/bin
  if [[ ! -x $bin/ioc-broker || ! -x $bin/ioc-intake ]]; then
    "$root/scripts/build.sh"
  fi
fi
for b in ioc-broker ioc-intake; do
  if [[ ! -x $bin/$b ]]; then
    echo "intake_wrk: no $b in $bin (set IOC_BIN, or build with scripts/build.sh)" >&2
    exit 1
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ioc-intake-wrk.XXXXXX")
broker_pid=""
intake_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in $intake_pid $broker_pid; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if ((rc != 0)); then
    for log in "$tmp"/*.log; do
      [[ -f $log ]] || continue
      echo "--- last lines of $log" >&2
      tail -n 15 "$log" >&2
    done
  fi
  if [[ ${IOC_BENCH_KEEP:-0} == 1 ]]; then
    echo "kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Polls `curl -s url` until its output matches the extended regex, for at
# most `seconds`; a process that exits meanwhile fails the run.
wait_for() {
  local url=$1 pattern=$2 seconds=$3 pid=$4 what=$5
  local deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    if curl -s --max-time 2 "$url" 2>/dev/null | grep -Eq "$pattern"; then return 0; fi
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      echo "intake_wrk: $what: the process exited" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "intake_wrk: $what: not seen within ${seconds} s (last: $(curl -s --max-time 2 "$url" 2>&1))" >&2
  return 1
}

kafka_port=$(free_port)
broker_http=$(free_port)
intake_http=$(free_port)
url=http://127.0.0.1:$intake_http

"$bin/ioc-broker" --config "$config" --set broker.bootstrap="127.0.0.1:$kafka_port" \
  --set http.listen="127.0.0.1:$broker_http" >"$tmp/broker.log" 2>&1 &
broker_pid=$!
wait_for "http://127.0.0.1:$broker_http/readyz" '"status":"ready"' 60 "$broker_pid" "broker ready"

"$bin/ioc-intake" --config "$config" --set kafka.bootstrap_servers="127.0.0.1:$kafka_port" \
  --set http.listen="127.0.0.1:$intake_http" --set intake.rate_limit.per_ip=0 \
  --set intake.bench_noop_route=true --set intake.spool.dir="$tmp/spool" ${IOC_BENCH_INTAKE_ARGS:-} >"$tmp/intake.log" 2>&1 &
intake_pid=$!
wait_for "$url/readyz" '"broker_connected":true' 60 "$intake_pid" "intake ready with the broker"

# run_wrk <connections> <seconds> <path> <wrk output file>
run_wrk() {
  local c=$1 secs=$2 path=$3 out=$4
  local t=$((wrk_threads < c ? wrk_threads : c))
  # wrk's own timeout (2 s) would count slow answers as socket errors and drop
  # them from the latency figures; give them the intake's delivery timeout.
  wrk -t"$t" -c"$c" -d"${secs}s" --timeout 15s --latency -s "$lua" "$url" -- "$path" >"$out" 2>&1
}

results=$tmp/results.tsv
: >"$results"

# measure <connections> <case> <path> <expected body status>
measure() {
  local c=$1 name=$2 path=$3 expect=$4
  local out=$tmp/wrk-$name-$c.txt
  if ((warmup > 0)); then run_wrk "$c" "$warmup" "$path" "$tmp/warmup-$name-$c.txt"; fi
  run_wrk "$c" "$duration" "$path" "$out"
  local line
  line=$(grep '^wrk-result ' "$out") || {
    echo "intake_wrk: wrk printed no result for $name at $c connections:" >&2
    cat "$out" >&2
    exit 1
  }
  # key=value pairs -> shell variables r_<key>
  local kv k v
  local -A r=()
  for kv in ${line#wrk-result }; do
    k=${kv%%=*}
    v=${kv#*=}
    r[$k]=$v
  done
  local wrong=0
  case $expect in
    accepted) wrong=${r[queued]} ;;
    queued) wrong=${r[accepted]} ;;
  esac
  local status=ok note=""
  if ((r[non202] > 0)); then
    status=error
    note="${r[non202]} non-202 (first: $(printf '%b' "${r[first_bad]//%/\\x}" | tr '\n\t' '  ' | cut -c1-120))"
  elif ((r[socket_errors] > 0)); then
    status=error
    note="${r[socket_errors]} socket errors/timeouts"
  elif ((r[other_body] > 0)); then
    status=error
    note="${r[other_body]} 202s without a status"
  elif ((wrong > 0)); then
    status=error
    note="$wrong of ${r[requests]} answered by the other path (expected all \"$expect\")"
  elif ((r[requests] == 0)); then
    status=error
    note="no request completed"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$name" "$status" "${r[rps]}" "${r[p50_us]}" \
    "${r[p99_us]}" "${r[requests]}" "$note" >>"$results"
  printf 'intake_wrk: %-7s c=%-3s %10s req/s  p50 %6s us  p99 %7s us  %s %s\n' "$name" "$c" "${r[rps]}" \
    "${r[p50_us]}" "${r[p99_us]}" "$status" "$note" >&2
}

load_before=$(uptime | sed 's/.*load average: //')
echo "intake_wrk: $(nproc) CPUs; load average before: $load_before" >&2
echo "intake_wrk: wrk -t$wrk_threads (at most the connection count), ${duration} s per case after ${warmup} s warm-up" >&2

for c in $connections; do
  measure "$c" noop /bench/noop any
  measure "$c" reports /api/v1/reports accepted
done
accepted_depth=$(curl -s "$url/readyz")

# The broker goes away for good: from here every report takes the spool path.
kill -KILL "$broker_pid"
wait "$broker_pid" 2>/dev/null || true
broker_pid=""
wait_for "$url/readyz" '"broker_connected":false' 120 "$intake_pid" "intake noticing the broker is gone"

for c in $connections; do
  measure "$c" spool /api/v1/reports queued
done
spool_state=$(curl -s "$url/readyz")
load_after=$(uptime | sed 's/.*load average: //')

# ---------------------------------------------------------------- report
awk -F'\t' -v duration="$duration" -v warmup="$warmup" -v threads="$wrk_threads" '
function ms(us) { return sprintf("%.2f", us / 1000) }
{
  n++; c[n] = $1; name[n] = $2; st[n] = $3; rps[n] = $4; p50[n] = $5; p99[n] = $6; note[n] = $8
  if ($2 == "noop" && $3 == "ok") { noop_rps[$1] = $4; noop_p99[$1] = $6 }
  if ($2 == "reports") { rep_st[$1] = $3; rep_rps[$1] = $4; rep_p99[$1] = $6 }
  if (!($1 in seen)) { seen[$1] = 1; order[++nc] = $1 }
}
END {
  printf "| connections | case | req/s | p50 ms | p99 ms | req/s vs noop | p99 vs noop p99 | responses |\n"
  printf "|---:|---|---:|---:|---:|---:|---:|---|\n"
  for (j = 1; j <= nc; j++) {
    for (i = 1; i <= n; i++) {
      if (c[i] != order[j]) continue
      if (st[i] != "ok") {
        printf "| %s | %s | error | - | - | - | - | %s |\n", c[i], name[i], note[i]
        continue
      }
      ratio = "-"; p99r = "-"
      if (name[i] != "noop" && (c[i] in noop_rps)) {
        ratio = sprintf("%.2f", rps[i] / noop_rps[c[i]])
        p99r = sprintf("%.1fx", p99[i] / (noop_p99[c[i]] > 0 ? noop_p99[c[i]] : 1))
      }
      resp = name[i] == "noop" ? "all 202" : (name[i] == "reports" ? "all 202 accepted" : "all 202 queued")
      printf "| %s | %s | %.0f | %s | %s | %s | %s | %s |\n", c[i], name[i], rps[i], ms(p50[i]), ms(p99[i]),
        ratio, p99r, resp
    }
  }
  printf "\nwrk -t%s (at most the connection count), %s s per case after %s s unmeasured warm-up.\n",
    threads, duration, warmup

  # Target 1: reports (broker up) >= 0.5 x noop req/s, at every connection count.
  met = 1; fails = ""
  for (j = 1; j <= nc; j++) {
    k = order[j]
    if (!(k in noop_rps) || rep_st[k] != "ok") { met = 0; fails = fails " " k "(error)"; continue }
    if (rep_rps[k] / noop_rps[k] < 0.5) {
      met = 0; fails = fails sprintf(" %s(%.2f)", k, rep_rps[k] / noop_rps[k])
    }
  }
  printf "\nTarget: reports (broker up) req/s >= 0.5 x noop at every connection count: %s\n",
    met ? "MET" : "NOT MET at connections" fails

  # Target 2: at the highest connection count where noop p99 < 2 ms, reports p99 < 10 ms.
  best = ""
  for (j = 1; j <= nc; j++) {
    k = order[j]
    if ((k in noop_p99) && noop_p99[k] < 2000 && (best == "" || k + 0 > best + 0)) best = k
  }
  if (best == "") {
    printf "Target: reports p99 < 10 ms where noop p99 < 2 ms: NOT EVALUATED (no connection count with an error-free noop p99 < 2 ms)\n"
  } else if (rep_st[best] != "ok") {
    printf "Target: reports p99 < 10 ms at %s connections (highest with noop p99 < 2 ms): NOT MET (errors)\n", best
  } else {
    printf "Target: reports p99 < 10 ms at %s connections (highest with noop p99 %s ms < 2 ms): %s (%s ms)\n",
      best, ms(noop_p99[best]), rep_p99[best] < 10000 ? "MET" : "NOT MET", ms(rep_p99[best])
  }
}' "$results"
echo
echo "$(nproc) CPUs; load average (1, 5, 15 min) before: $load_before; after: $load_after"
echo "/readyz after the reports cases: $accepted_depth"
echo "/readyz after the spool cases: $spool_state"

if grep -q $'\terror\t' "$results"; then
  echo "intake_wrk: some cases had errors (see the table)" >&2
  exit 2
fi
