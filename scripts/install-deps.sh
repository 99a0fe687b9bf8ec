#!/usr/bin/env bash
# Installs exactly the Debian 12 packages the build, the run command and the
# test suite need. Idempotent: a no-op (no apt-get at all) when all are present.
#   install-deps.sh               build + test packages
#   install-deps.sh --build-only  build packages
#   install-deps.sh --fuzz        build packages + clang and libFuzzer (scripts/fuzz.sh)
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  librdkafka-dev libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  libprotobuf-dev protobuf-compiler prometheus-cpp-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev libssl-dev
)
test_pkgs=(
  prometheus prometheus-alertmanager kcat python3 python3-confluent-kafka python3-protobuf
  curl procps iproute2 wrk libxml2-utils
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

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $EUID -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo $0)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
