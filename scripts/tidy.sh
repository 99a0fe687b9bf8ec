#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy) over the project's own sources, using the
# compile commands of ./build (configure it first: ./scripts/build.sh).
#   tidy.sh                 every .cpp under libs/, services/, bench/, tests/
#   tidy.sh FILE...         only these files
# Exits non-zero when clang-tidy reports anything.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${IOC_BUILD_DIR:-$root/build}
if [[ ! -f $build/compile_commands.json ]]; then
  echo "no $build/compile_commands.json: run ./scripts/build.sh first" >&2
  exit 2
fi
tidy=$(command -v clang-tidy || command -v clang-tidy-14 || true)
if [[ -z $tidy ]]; then
  echo "clang-tidy is not installed (./scripts/install-deps.sh installs it)" >&2
  exit 2
fi
if (($# > 0)); then
  files=("$@")
else
  mapfile -t files < <(cd "$root" && git ls-files 'libs/*.cpp' 'services/*.cpp' 'bench/*.cpp' 'tests/*.cpp' |
    grep -v '^tests/fuzz/' | sed "s|^|$root/|")
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
printf '%s\n' "${files[@]}" |
  xargs -P "${IOC_JOBS:-$(nproc)}" -n 4 "$tidy" -p "$build" --quiet >"$out" 2>/dev/null || status=$?
if grep -q ': \(warning\|error\):' "$out"; then
  grep -A3 ': \(warning\|error\):' "$out"
  exit 1
fi
exit "$status"
