#!/usr/bin/env bash
# Configures and builds the project into ./build (Ninja, ccache).
# Extra arguments are passed to cmake's configure step.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${IOC_BUILD_DIR:-$root/build}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}  # worktrees and build dirs share cache hits
jobs=${IOC_JOBS:-$(nproc)}
if [[ ! -f $build/build.ninja ]] || (($# > 0)); then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
fi
cmake --build "$build" -j "$jobs"
