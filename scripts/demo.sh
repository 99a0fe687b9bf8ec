#!/usr/bin/env bash
# Runs the whole system on the embedded default: ioc-broker, ioc-intake,
# ioc-aggregator, ioc-alerter, ioc-wall (the operations wall,
# http://localhost:8088/), ioc-sim playing its scripted demo (a flood, a BTS
# outage, a portal outage; IOC_SCENARIO=none for steady traffic only),
# Prometheus, and Alertmanager. Ctrl-C (or SIGTERM) stops every process it
# started. Logs: .run/<service>.log
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
bin=${IOC_BUILD_DIR:-$root/build}/bin
run=$root/.run
config=$root/deploy/config/ioc.yaml
mkdir -p "$run"

pids=()
# Stops in reverse start order, so producers and consumers finish (flush,
# commit, leave the group) while the broker is still there.
stop_all() {
  trap - EXIT INT TERM
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  echo "stopped ${#pids[@]} processes"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
alertmanager=$(command -v prometheus-alertmanager || true)
ports=(9092 9104 8080 9101 9102 8088 9103 9090)
[[ -n $alertmanager ]] && ports+=(9093)
for port in "${ports[@]}"; do
  if port_in_use "$port"; then
    echo "port $port is already in use; stop whatever listens there (another demo?) and retry" >&2
    exit 1
  fi
done

start() {
  local name=$1
  shift
  "$@" >"$run/$name.log" 2>&1 &
  pids+=($!)
}
wait_ready() {
  local name=$1 url=$2
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
      echo "$name exited; last lines of $run/$name.log:" >&2
      tail -n 20 "$run/$name.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "$name not ready after 30 s; see $run/$name.log" >&2
  exit 1
}

start ioc-broker "$bin/ioc-broker" --config "$config"
wait_ready ioc-broker http://127.0.0.1:9104/readyz
start ioc-intake "$bin/ioc-intake" --config "$config" --set intake.spool.dir="$run/intake-spool"
wait_ready ioc-intake http://127.0.0.1:8080/readyz
start ioc-aggregator "$bin/ioc-aggregator" --config "$config"
wait_ready ioc-aggregator http://127.0.0.1:9101/healthz
alerter_args=()
if [[ -n $alertmanager ]]; then
  rm -rf "$run/alertmanager"
  start alertmanager "$alertmanager" --config.file="$root/deploy/alertmanager/alertmanager.yml" \
    --storage.path="$run/alertmanager" --web.listen-address=127.0.0.1:9093 --cluster.listen-address=
  wait_ready alertmanager http://127.0.0.1:9093/-/ready
  alerter_args+=(--set alerter.alertmanager.url=http://127.0.0.1:9093)
fi
# The demo's alerts fire and resolve within minutes: rules-demo.yaml replaces
# the production flood and BTS rules with one-minute windows and short timers.
# Every run starts with fresh alert state (the embedded broker starts empty).
rm -rf "$run/alerter-state"
start ioc-alerter "$bin/ioc-alerter" --config "$config" --set alerter.rules=rules.yaml,rules-demo.yaml \
  --set alerter.state_dir="$run/alerter-state" "${alerter_args[@]}"
wait_ready ioc-alerter http://127.0.0.1:9102/healthz
start ioc-wall "$bin/ioc-wall" --config "$config"
wait_ready ioc-wall http://127.0.0.1:8088/readyz
scenario=${IOC_SCENARIO:-demo}
if [[ $scenario == none ]]; then
  start ioc-sim "$bin/ioc-sim" --config "$config"
else
  start ioc-sim "$bin/ioc-sim" --config "$config" --scenario "$scenario"
fi
wait_ready ioc-sim http://127.0.0.1:9103/healthz
rm -rf "$run/prometheus"
start prometheus prometheus --config.file="$root/deploy/prometheus/prometheus.yml" \
  --storage.tsdb.path="$run/prometheus" --web.listen-address=127.0.0.1:9090
wait_ready prometheus http://127.0.0.1:9090/-/ready

am_url="(not installed: apt-get install prometheus-alertmanager)"
[[ -n $alertmanager ]] && am_url="http://127.0.0.1:9093/#/alerts   (routing: deploy/alertmanager/alertmanager.yml)"
cat <<MSG

IOC stream processor is running (embedded broker; data is kept in memory only).

  Operations wall    http://localhost:8088/   (simulator scenario: $scenario; README "The operations wall")

  Report intake      POST http://127.0.0.1:8080/api/v1/reports
  Intake metrics     http://127.0.0.1:8080/metrics
  Aggregator metrics http://127.0.0.1:9101/metrics   (ioc_view_value: the KPIs of deploy/config/views.yaml)
  Aggregator views   http://127.0.0.1:9101/api/v1/views/transactions_1h?district=380
  Wall state / SSE   http://127.0.0.1:8088/api/v1/state   http://127.0.0.1:8088/events
  Broker metrics     http://127.0.0.1:9104/metrics   (per-partition log start/end offsets)
  Alerts             http://127.0.0.1:9102/api/v1/alerts   (each as CAP 1.2: /api/v1/alerts/{id}.cap)
  Alerter metrics    http://127.0.0.1:9102/metrics
  Alertmanager       $am_url
  Simulator metrics  http://127.0.0.1:9103/metrics   (scripted demo: flood in 380 at 0:20-2:50, BTS of 384 silent 0:40-2:40, portal down 1:00-3:00)
  Prometheus         http://127.0.0.1:9090/graph?g0.expr=sum%20by%20(district)%20(ioc_view_value%7Bview%3D%22reports_15m%22%7D)   (reports per district, last 15 min)
  Kafka bootstrap    127.0.0.1:9092   (e.g. kcat -b 127.0.0.1:9092 -C -t ioc.aggregates.v1)

Try:  curl -s -XPOST localhost:8080/api/v1/reports -H 'content-type: application/json' \\
        -d '{"category":"flood","district":"380","occurred_at":"$(date -u +%Y-%m-%dT%H:%M:%SZ)"}'

Logs in $run/. Press Ctrl-C to stop everything.
MSG
wait -n "${pids[@]}" || true
echo "a process exited unexpectedly; see the logs in $run/" >&2
exit 1
