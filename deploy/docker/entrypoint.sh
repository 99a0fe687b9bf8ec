#!/bin/sh
# The image's entry point: `ioc SERVICE [--set key=value ...]` runs
# ioc-SERVICE with the image's settings (IOC_CONFIG, /etc/ioc/ioc.yaml by
# default; IOC_<KEY> variables override it). IOC_BIN_DIR: where the
# binaries are (/usr/bin).
set -eu
bin="${IOC_BIN_DIR:-/usr/bin}"
config="${IOC_CONFIG:-/etc/ioc/ioc.yaml}"
usage() {
    echo "usage: ioc intake|aggregator|alerter|wall|topics|sim|broker [--set key=value ...] [--check-config]" >&2
    exit 2
}
[ $# -ge 1 ] || usage
service="$1"
shift
case "$service" in
    intake|aggregator|alerter|wall|topics|sim|broker)
        exec "$bin/ioc-$service" --config "$config" "$@" ;;
    --help|-h|help)
        usage ;;
    *)
        echo "ioc: unknown service '$service'" >&2
        usage ;;
esac
