#!/usr/bin/env bash
# Installs what the tests need, builds with warnings as errors, and runs the
# whole suite: unit tests (label unit) and integration tests that start real
# processes (label integration). Then, unless IOC_FUZZ_SECONDS=0, builds the
# libFuzzer targets with clang and runs each for IOC_FUZZ_SECONDS (default
# 30) seconds (scripts/fuzz.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" -DIOC_WERROR=ON
cd "${IOC_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 600 -j "${IOC_JOBS:-$(nproc)}" "$@"
if [[ ${IOC_FUZZ_SECONDS:-30} == 0 ]]; then
  echo "test: fuzzing skipped (IOC_FUZZ_SECONDS=0)"
else
  "$root/scripts/fuzz.sh"
fi
