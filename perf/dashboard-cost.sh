#!/usr/bin/env bash
# What an open dashboard costs the Modbus path: interleaved mbload runs (FC03 x 10, 64 x 1 and 16 x 8) against
#   base      a build without the dashboard (BASE=path/to/mcpd.dll),
#   closed    this build, nobody watching,
#   open      this build while a client reads /api/live (what the device view streams: registers of unit 1,
#             the request log, the traffic meter),
# in the same order each round, the medians and their ratios to base.
#
#   flock /tmp/mcpd-bench.lock perf/dashboard-cost.sh [--rounds N] [--seconds S] BASE=base/mcpd.dll NEW=new/mcpd.dll
#
# Every process it starts is ended by PID when it exits; each load run is bounded by --seconds.
set -euo pipefail

rounds=5
seconds=4
base= new=
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    BASE=*) base=${1#BASE=}; shift ;;
    NEW=*) new=${1#NEW=}; shift ;;
    *) echo "usage: $0 [--rounds N] [--seconds S] BASE=mcpd.dll NEW=mcpd.dll" >&2; exit 2 ;;
  esac
done
[ -n "$base" ] && [ -n "$new" ] || { echo "name both builds: BASE=... NEW=..." >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
. "$here/loopback.sh"
kit=${MCPD_BENCH_KIT:-/tmp/mcpd-bench}
[ -x "$kit/mbload" ] || bash "$here/../../shared/bench/build.sh" "$kit" >/dev/null

pids=()
viewer=
cleanup() { [ -z "$viewer" ] || kill "$viewer" 2>/dev/null || true; for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

dotnet "$base" serve --bind 127.0.0.1 --modbus-port 15710 --mcp-port 15711 --http-port 15712 >/tmp/dashboard-cost-base.log 2>&1 & pids+=($!)
dotnet "$new" serve --bind 127.0.0.1 --modbus-port 15720 --mcp-port 15721 --http-port 15722 >/tmp/dashboard-cost-new.log 2>&1 & pids+=($!)
wait_port 15710; wait_port 15720; wait_port 15722

run_load() { # conns depth port -> requests/s
  local line
  line=$("$kit/mbload" --port "$3" --conns "$1" --depth "$2" --seconds "$seconds" --warmup 1 --fc 3 --count 10 --quiet)
  case "$line" in *" errors=0"*) ;; *) echo "errors in: $line" >&2 ;; esac
  sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<<"$line" | cut -d. -f1
}

printf '%-7s %22s %22s %22s\n' conns base closed open
for load in "64 1" "16 8"; do
  set -- $load
  b="" c="" o="" events=0
  for _ in $(seq 1 "$rounds"); do
    b+="$(run_load "$1" "$2" 15710) "
    c+="$(run_load "$1" "$2" 15720) "
    curl -sN "http://127.0.0.1:15722/api/live?unit=1&table=holding&from=0&count=10" >/tmp/dashboard-cost-stream.txt 2>/dev/null & viewer=$!
    sleep 0.5
    o+="$(run_load "$1" "$2" 15720) "
    kill "$viewer" 2>/dev/null || true; wait "$viewer" 2>/dev/null || true; viewer=
    events=$((events + $(grep -c '^event: requests' /tmp/dashboard-cost-stream.txt || true)))
  done
  mb=$(tr ' ' '\n' <<<"$b" | grep . | median)
  mc=$(tr ' ' '\n' <<<"$c" | grep . | median)
  mo=$(tr ' ' '\n' <<<"$o" | grep . | median)
  printf '%-7s %12s (%5.1f %%) %12s (%5.1f %%) %12s (%5.1f %%)\n' "$1x$2" "$mb" 100 "$mc" "$(awk -v a="$mc" -v b="$mb" 'BEGIN { print 100 * a / b }')" \
    "$mo" "$(awk -v a="$mo" -v b="$mb" 'BEGIN { print 100 * a / b }')"
  echo "  base: $b"; echo "  closed: $c"; echo "  open: $o"; echo "  request-log events received while open: $events"
done
