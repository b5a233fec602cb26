#!/usr/bin/env bash
# Interleaved throughput comparison of mcpd builds against the C reference server of ../shared/bench.
#
#   perf/compare.sh [--rounds N] [--seconds S] [--modbus-only "MBLOAD REQUEST OPTIONS"] NAME=PATH/TO/mcpd.dll[,VAR=VALUE...] [NAME=...]
#
# --modbus-only runs only the Modbus loads, with the given mbload request instead of FC03 x 10, e.g.
# "--fc 16 --count 1" for one-register writes; the C reference (it answers only reads) is left out and the
# ratios are to the first build named.
# VAR=VALUE pairs are environment variables of that server, i.e. configuration overrides such as
# MCPD__TRANSPORT__APPLICATIONSCHEDULING=ThreadPool, so one build can run twice with different settings.
# Starts the C reference (Modbus and MCP) and every named mcpd build on loopback, then, for each load
# (FC03 x 10 with mbload, sys.echo with a 16-byte body with mcpload; 64 x 1 and 16 x 8), runs every server once
# per round, in the same order each round (A B C A B C ...), and prints each server's median requests/s and its
# ratio to the reference. Client and server share the machine's cores: only ratios from one run compare.
# Every process it starts is ended by PID when it exits; each load run is bounded by --seconds.
set -euo pipefail

rounds=3
seconds=4
modbus_request="--fc 3 --count 10"
tools="mbload mcpload"
builds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --modbus-only) modbus_request=$2; tools=mbload; shift 2 ;;
    *=*) builds+=("$1"); shift ;;
    *) echo "usage: $0 [--rounds N] [--seconds S] NAME=mcpd.dll ..." >&2; exit 2 ;;
  esac
done
[ ${#builds[@]} -gt 0 ] || { echo "name at least one mcpd build: NAME=path/to/mcpd.dll" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
. "$here/loopback.sh"
kit=${MCPD_BENCH_KIT:-/tmp/mcpd-bench}
[ -x "$kit/mbload" ] || bash "$here/../../shared/bench/build.sh" "$kit" >/dev/null

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# Servers: name, Modbus port, MCP port.
names=() modbus_ports=() mcp_ports=()
if [ "$tools" != mbload ]; then
  names=(C-reference) modbus_ports=(15600) mcp_ports=(15601)
  "$kit/limit_server" -p 15600 >/dev/null 2>&1 & pids+=($!)
  "$kit/limit_server" --mcp -p 15601 >/dev/null 2>&1 & pids+=($!)
fi
port=15610
for build in "${builds[@]}"; do
  name=${build%%=*}
  spec=${build#*=}
  IFS=, read -r dll settings <<<"$spec"
  env ${settings//,/ } dotnet "$dll" serve --bind 127.0.0.1 --modbus-port $port --mcp-port $((port + 1)) --http-port $((port + 2)) \
    >"/tmp/compare-$name.log" 2>&1 & pids+=($!)
  names+=("$name"); modbus_ports+=($port); mcp_ports+=($((port + 1)))
  port=$((port + 10))
done
for i in "${!names[@]}"; do wait_port "${modbus_ports[$i]}"; wait_port "${mcp_ports[$i]}"; done

run_load() { # tool conns depth port -> requests/s
  local tool=$1 conns=$2 depth=$3 port=$4 line
  if [ "$tool" = mbload ]; then
    line=$("$kit/mbload" --port "$port" --conns "$conns" --depth "$depth" --seconds "$seconds" --warmup 1 $modbus_request --quiet)
  else
    line=$("$kit/mcpload" --port "$port" --conns "$conns" --depth "$depth" --seconds "$seconds" --warmup 1 --body-bytes 16 --quiet)
  fi
  case "$line" in *" errors=0"*) ;; *) echo "errors in: $line" >&2 ;; esac
  sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<<"$line" | cut -d. -f1
}

printf '%-8s %-7s' load conns
for name in "${names[@]}"; do printf ' %22s' "$name"; done
printf '\n'
for tool in $tools; do
  for load in "64 1" "16 8"; do
    set -- $load
    declare -A samples=()
    for _ in $(seq 1 "$rounds"); do
      for i in "${!names[@]}"; do
        if [ $tool = mbload ]; then p=${modbus_ports[$i]}; else p=${mcp_ports[$i]}; fi
        samples[$i]+="$(run_load $tool "$1" "$2" "$p") "
      done
    done
    reference=$(tr ' ' '\n' <<<"${samples[0]}" | grep . | median)
    printf '%-8s %-7s' "$tool" "$1x$2"
    for i in "${!names[@]}"; do
      m=$(tr ' ' '\n' <<<"${samples[$i]}" | grep . | median)
      printf ' %12s (%5.1f %%)' "$m" "$(awk -v a="$m" -v b="$reference" 'BEGIN { print 100 * a / b }')"
    done
    printf '\n'
    for i in "${!names[@]}"; do echo "  ${names[$i]}: ${samples[$i]}"; done
    unset samples
  done
done
