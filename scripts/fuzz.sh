#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cpp) with clang, ASan and
# UBSan into IOC_FUZZ_BUILD_DIR (default ./build-fuzz) and runs each for
# IOC_FUZZ_SECONDS (default 30) on a temporary copy of its seed corpus
# tests/fuzz/corpus/<name>/, so the repo is never written to; IOC_JOBS
# (default: the number of cores) targets at a time. IOC_FUZZ_SECONDS=0 only
# replays the seed corpora. Exits non-zero when a target fails, naming the
# input that did it (kept under <build>/fuzz-artifacts/<target>/) and showing
# the end of the target's log. Extra arguments go to every target (e.g.
# -max_len=8192). IOC_FUZZ_CXX picks the compiler (default clang++-14).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${IOC_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${IOC_FUZZ_SECONDS:-30}
jobs=${IOC_JOBS:-$(nproc)}
fuzz_dir=$root/tests/fuzz

"$root/scripts/install-deps.sh" --fuzz
cxx=${IOC_FUZZ_CXX:-$(command -v clang++-14 || command -v clang++)}

targets=()
for src in "$fuzz_dir"/*_fuzz.cpp; do
  targets+=("$(basename "$src" .cpp)")
done

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
  -DIOC_FUZZ=ON -DIOC_BUILD_TESTS=ON -DIOC_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
symbolizer=$(command -v llvm-symbolizer || command -v /usr/lib/llvm-14/bin/llvm-symbolizer || true)
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$symbolizer}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# Runs one target; its output goes to <build>/fuzz-logs/<target>.log and its
# exit code to $work/<target>.rc.
run() {
  local t=$1 name=${1%_fuzz}
  local corpus=$work/$name artifacts=$build/fuzz-artifacts/$t log=$build/fuzz-logs/$t.log
  shift
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  if [[ -d $fuzz_dir/corpus/$name ]]; then cp -r "$fuzz_dir/corpus/$name/." "$corpus"; fi
  local args=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/")
  if ((seconds > 0)); then args+=(-max_total_time="$seconds"); else args+=(-runs=0); fi
  if [[ -f $fuzz_dir/$name.dict ]]; then args+=(-dict="$fuzz_dir/$name.dict"); fi
  # A target can hang while reporting a failure (libFuzzer's out-of-memory
  # report may deadlock in a multi-threaded target): kill it well after its
  # time is up.
  local rc=0
  timeout -k 10 $((seconds + 120)) "$build/tests/fuzz/$t" "${args[@]}" "$@" "$corpus" >"$log" 2>&1 || rc=$?
  echo "$rc" >"$work/$t.rc"
}

running=0
for t in "${targets[@]}"; do
  if ((running >= jobs)); then
    wait -n || true
    running=$((running - 1))
  fi
  run "$t" "$@" &
  running=$((running + 1))
done
wait

# A libFuzzer -print_final_stats value from a log: final_stat <log> <name>
final_stat() { sed -n "s/^stat::$2: *//p" "$1" | tail -1; }

failed=0
for t in "${targets[@]}"; do
  log=$build/fuzz-logs/$t.log
  rc=$(cat "$work/$t.rc")
  cov=$(grep -oE ' cov: [0-9]+' "$log" | tail -1 | tr -dc 0-9 || true)
  units=$(find "$work/${t%_fuzz}" -type f | wc -l)
  if ((rc == 0)); then
    printf 'fuzz: %-20s ok     %9s runs %6s exec/s  cov %5s  corpus %s\n' \
      "$t" "$(final_stat "$log" number_of_executed_units)" "$(final_stat "$log" average_exec_per_sec)" "${cov:-?}" "$units"
  else
    failed=1
    why="exit $rc"
    if ((rc == 124 || rc == 137)); then why="stuck, killed"; fi
    printf 'fuzz: %-20s FAILED (%s), log %s\n' "$t" "$why" "$log"
    tail -n 60 "$log" | sed 's/^/  | /'
    sed -n 's/.*Test unit written to /fuzz: reproducer: /p' "$log"
    echo "fuzz: replay with: $build/tests/fuzz/$t <reproducer>"
  fi
done
exit "$failed"
