#!/usr/bin/env bash
# Installs what the tests need, builds with warnings as errors, and runs the
# whole suite: unit tests (label unit) and integration tests that start real
# processes (label integration).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" -DIOC_WERROR=ON
cd "${IOC_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 600 -j "${IOC_JOBS:-$(nproc)}" "$@"
