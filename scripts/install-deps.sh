#!/usr/bin/env bash
# Installs exactly the Debian 12 packages the build, the run command and the
# test suite need. Idempotent: a no-op (no apt-get at all) when all are present.
#   install-deps.sh               build + test packages, and the npm packages of the
#                                 browser test and the Kubernetes validator
#                                 (tests/browser, tests/k8s: `npm ci` from their lockfiles)
#   install-deps.sh --build-only  build packages
#   install-deps.sh --fuzz        build packages + clang and libFuzzer (scripts/fuzz.sh)
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  librdkafka-dev libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  libprotobuf-dev protobuf-compiler prometheus-cpp-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev libssl-dev
  file  # CPack's Debian package generator finds the binaries for dpkg-shlibdeps with it
)
test_pkgs=(
  prometheus prometheus-alertmanager kcat python3 python3-confluent-kafka python3-protobuf python3-yaml
  curl procps iproute2 wrk libxml2-utils
  chromium chromium-driver fonts-dejavu-core
  default-jre-headless  # the real-Kafka lane runs Apache Kafka (IOC_KAFKA_HOME)
  # deploy/: the Debian package (lintian, systemd-analyze, systemd-sysusers),
  # the Compose file (docker-compose config; no container engine is needed)
  lintian fakeroot systemd docker-compose
  clang-tidy            # scripts/tidy.sh
)

# libclang-rt-14-dev holds libFuzzer and the sanitizer runtimes (only a
# Recommends of clang-14); llvm-14 has llvm-symbolizer for readable stacks.
fuzz_pkgs=(clang-14 libclang-rt-14-dev llvm-14)

want=("${build_pkgs[@]}")
case "${1:-}" in
  --build-only) ;;
  --fuzz) want+=("${fuzz_pkgs[@]}") ;;
  *) want+=("${test_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

# The browser test drives Chromium with playwright-core from npm, and
# tests/k8s validates deploy/k8s with kubernetes-models: the machine's
# Node.js and npm, or Debian's when there are none.
browser=false
if [[ ${1:-} != --build-only && ${1:-} != --fuzz ]]; then
  browser=true
  if ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
fi

if ((${#missing[@]} > 0)); then
  if [[ $EUID -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root (or: sudo $0)" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci installs exactly the lockfile; skipped when node_modules already
# matches it (npm records what it installed in node_modules/.package-lock.json).
if $browser; then
  for sub in browser k8s; do
    dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/$sub" && pwd)
    if [[ ! $dir/node_modules/.package-lock.json -nt $dir/package-lock.json ]] ||
       ! (cd "$dir" && npm ls --depth=0 >/dev/null 2>&1); then
      echo "install-deps: npm ci in $dir" >&2
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
  done
fi
