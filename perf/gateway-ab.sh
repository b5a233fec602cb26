#!/usr/bin/env bash
# Two (or more) builds of the gateway against each other, interleaved (issue 13): FC03 x 10 from ../shared/bench's
# mbload through mcpd as a gateway (upstream pool of 8 connections, 16 in flight each) to the C reference server.
#
#   perf/gateway-ab.sh [--rounds N] [--seconds S] [--load CxD] A/mcpd.dll B/mcpd.dll ...
#
# Each run starts a fresh gateway process of one build (so no build inherits another's warm-up or heap), warms it up
# for 2 s, measures for --seconds, and ends it by PID; the builds alternate (A B A B ...) so a change in the machine's
# load hits them alike. Prints every run and each build's median. Only ratios from one run compare.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/loopback.sh"
rounds=5 seconds=4 load=16x8 dlls=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --load) load=$2; shift 2 ;;
    *.dll) [ -f "$1" ] || { echo "no $1" >&2; exit 2; }; dlls+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"); shift ;;
    *) echo "usage: $0 [--rounds N] [--seconds S] [--load CxD] A/mcpd.dll B/mcpd.dll ..." >&2; exit 2 ;;
  esac
done
[ ${#dlls[@]} -ge 1 ] || { echo "usage: $0 [--rounds N] [--seconds S] [--load CxD] A/mcpd.dll B/mcpd.dll ..." >&2; exit 2; }
conns=${load%x*} depth=${load#*x}

kit=${MCPD_BENCH_KIT:-/tmp/mcpd-bench}
[ -x "$kit/limit_server" ] || bash "$here/../../shared/bench/build.sh" "$kit" >/dev/null
work=$(mktemp -d /tmp/mcpd-gateway-ab.XXXXXX)
pids=()
trap compare_cleanup EXIT

device_port=15750 gateway_port=15752
cat >"$work/mcpd.yaml" <<YAML
modbus: { port: $gateway_port }
mcp: { port: 15753 }
admin: { port: 15754 }
upstreams:
  device:
    address: "127.0.0.1:$device_port"
    tcp: { maxConnections: 8, maxInFlightPerConnection: 16 }
devices:
  - { unit: 1, name: bench device, upstream: device }
YAML
"$kit/limit_server" -p $device_port >/dev/null 2>&1 & pids+=($!)
wait_port $device_port

declare -A runs=()
echo "gateway A/B at $load, $rounds rounds of $seconds s; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq 1 "$rounds"); do
  for dll in "${dlls[@]}"; do
    dotnet "$dll" serve --config "$work/mcpd.yaml" >"$work/mcpd.log" 2>&1 & gateway=$!
    wait_port $gateway_port
    timeout 30 "$kit/mbload" --port $gateway_port --conns "$conns" --depth "$depth" --seconds 2 --quiet >/dev/null
    line=$(timeout $((seconds + 30)) "$kit/mbload" --port $gateway_port --conns "$conns" --depth "$depth" --seconds "$seconds" --fc 3 --count 10 --quiet)
    kill "$gateway"; wait "$gateway" 2>/dev/null || true
    rps=$(grep -o 'rps=[0-9]*' <<<"$line" | cut -d= -f2)
    echo "  $dll $rps"
    runs[$dll]+="$rps "
  done
done
for dll in "${dlls[@]}"; do
  printf '%s median %s rps (runs: %s)\n' "$dll" "$(tr ' ' '\n' <<<"${runs[$dll]}" | grep . | median)" "${runs[$dll]}"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
