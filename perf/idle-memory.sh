#!/usr/bin/env bash
# What an idle connection costs mcpd in memory. Starts mcpd on loopback, warms it up, then opens N idle connections
# with ../shared/bench's mbload (Modbus) or mcpload (MCP), each answered one request first, in two halves: the first
# N/2 stay open while the second N/2 connect. Per connection it prints
#   - rss:  the growth of the server's RSS (ps) from before to N connections, over N;
#   - heap: the growth of its live managed heap (dotnet-gcdump, which runs a full blocking GC first, so it counts
#           live objects only), over N;
#   - and both again for the second half alone ("marginal"): what one more connection costs once the first half has
#     paid the process's one-off growth (the GC's allocation budget, pools, dictionaries at their new size).
# RSS is what the operating system charges, but it also holds garbage not collected yet and the GC's free space, so
# at a few thousand connections it moves by a few hundred bytes per connection from run to run; the live heap does not.
#
#   perf/idle-memory.sh [--protocol modbus|mcp] [--conns N] [--hold S] [--runs R] [path/to/mcpd.dll]
#
# Wrap it in `flock /tmp/mcpd-bench.lock` (measurements of different people must not overlap). Each server and load
# generator it starts is ended by PID when it exits; a run takes about 2 x HOLD + 20 s and every wait is bounded.
set -euo pipefail

protocol=modbus
conns=10000
hold=15
runs=1
dll=
while [ $# -gt 0 ]; do
  case "$1" in
    --protocol) protocol=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --hold) hold=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -*) echo "usage: $0 [--protocol modbus|mcp] [--conns N] [--hold S] [--runs R] [mcpd.dll]" >&2; exit 2 ;;
    *) dll=$1; shift ;;
  esac
done
case "$protocol" in modbus | mcp) ;; *) echo "--protocol is modbus or mcp" >&2; exit 2 ;; esac
[ "$hold" -ge 10 ] || { echo "--hold must be at least 10 s (the readings happen while the second half holds)" >&2; exit 2; }
half=$((conns / 2))
[ "$half" -ge 100 ] || { echo "--conns must be at least 200" >&2; exit 2; }
conns=$((2 * half))

here=$(cd "$(dirname "$0")" && pwd)
. "$here/loopback.sh"
dll=${dll:-$here/../src/Mcpd/bin/Release/net10.0/mcpd.dll}
[ -f "$dll" ] || { echo "no $dll: build it first (dotnet build -c Release src/Mcpd)" >&2; exit 2; }
kit=${MCPD_BENCH_KIT:-/tmp/mcpd-bench}
[ -x "$kit/mbload" ] || bash "$here/../../shared/bench/build.sh" "$kit" >/dev/null
dump_tool=$(command -v dotnet-gcdump || echo "$HOME/.dotnet/tools/dotnet-gcdump")
[ -x "$dump_tool" ] || { echo "dotnet-gcdump not found: dotnet tool install --global dotnet-gcdump" >&2; exit 2; }

# Both sides need a descriptor per connection, and the server keeps some for itself (OpenFileLimit).
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((conns + 200)) ] || { echo "the open-file limit $(ulimit -n) is too low for $conns connections" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

modbus_port=15704
mcp_port=15707
if [ "$protocol" = modbus ]; then
  port=$modbus_port
  load=("$kit/mbload" --port "$port" --fc 3 --count 10)
else
  port=$mcp_port
  load=("$kit/mcpload" --port "$port" --body-bytes 16)
fi

# heap NAME: dumps the server's heap to $work/NAME.gcdump and prints its live bytes.
heap() {
  timeout 60 "$dump_tool" collect -p "$server" -o "$work/$1.gcdump" >/dev/null 2>&1
  "$dump_tool" report "$work/$1.gcdump" | awk '/GC Heap bytes/ { gsub(",", "", $1); print $1; exit }'
}

rss() { ps -o rss= -p "$server" | tr -d ' '; }

# hold NAME SECONDS: opens $half idle connections in the background and returns once all answered; PID in $holder.
hold() {
  : >"$work/$1.out"
  # timeout passes a TERM on to the load generator.
  timeout $(($2 + 60)) "${load[@]}" --conns "$half" --idle-hold "$2" --connect-timeout 30 >"$work/$1.out" 2>&1 &
  holder=$!
  pids+=("$holder")
  for _ in $(seq 1 600); do grep -q '^idle:' "$work/$1.out" && break; sleep 0.1; done
  grep -q '^idle:' "$work/$1.out" || { echo "$1: the connections did not open within 60 s" >&2; cat "$work/$1.out" >&2; exit 1; }
  sleep 2
}

# check NAME: every connection of that half answered and was still open at its end.
check() {
  local summary
  summary=$(grep '^idle_conns=' "$work/$1.out" || echo "no summary")
  if ! grep -q "verified=$half alive_at_end=$half " <<<"$summary"; then
    echo "$1: not every connection answered and stayed open: $summary" >&2
    exit 1
  fi
}

per() { awk -v a="$1" -v b="$2" -v n="$3" -v k="$4" 'BEGIN { printf "%.0f", (b - a) * k / n }'; }

echo "protocol=$protocol conns=$conns (two halves of $half) dll=$dll"
for run in $(seq 1 "$runs"); do
  # Every connection comes from 127.0.0.1: no per-address limit for this measurement.
  MCPD__MODBUS__MAXCONNECTIONSPERADDRESS=0 MCPD__MCP__MAXCONNECTIONSPERADDRESS=0 \
    dotnet "$dll" serve --bind 127.0.0.1 --modbus-port "$modbus_port" --mcp-port "$mcp_port" --http-port 15708 \
    >"$work/server.log" 2>&1 &
  server=$!
  pids=("$server")
  wait_port "$port"

  timeout 30 "${load[@]}" --conns 64 --depth 1 --seconds 2 --warmup 0 --quiet >/dev/null   # JIT and pools warm, as in service
  heap0=$(heap before)
  sleep 1
  rss0=$(rss)

  hold first $((2 * hold))
  first=$holder
  rss1=$(rss)
  heap1=$(heap first)

  hold second "$hold"
  second=$holder
  rss2=$(rss)
  heap2=$(heap second)

  wait "$second" || true
  wait "$first" || true
  pids=("$server")
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  pids=()
  check first
  check second

  echo "run $run: rss ${rss0} -> ${rss2} KB = $(per "$rss0" "$rss2" "$conns" 1024) B/conn;" \
    "heap ${heap0} -> ${heap2} B = $(per "$heap0" "$heap2" "$conns" 1) B/conn;" \
    "marginal (second half): rss $(per "$rss1" "$rss2" "$half" 1024) B/conn, heap $(per "$heap1" "$heap2" "$half" 1) B/conn"
  if [ -n "${MCPD_IDLE_DUMPS:-}" ]; then
    cp "$work/before.gcdump" "$work/second.gcdump" "$MCPD_IDLE_DUMPS/"
  fi
done
