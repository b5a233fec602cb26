#!/usr/bin/env bash
# Hot reload of a large register map, measured: mcpd serves a file with ENTRIES holding-register entries (default
# 65,536, a whole table), the file is replaced (written beside it, then renamed over it, as an atomic writer does)
# with every initial value changed, and the script prints the reload time mcpd logs (read, checked and applied) and
# the wall time from the rename to that log line, which adds the 300 ms the file must stay unchanged, and the CPU
# time mcpd spent meanwhile (all its threads, from /proc): on a machine shared with other work, the CPU time is the
# figure that does not depend on how much of a core mcpd was given.
#
#   perf/reload-time.sh [path/to/mcpd.dll] [ENTRIES] [ROUNDS]
#
# The server it starts is ended by PID when it exits; each wait is bounded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dll=${1:-$here/../src/Mcpd/bin/Release/net10.0/mcpd.dll}
entries=${2:-65536}
rounds=${3:-3}
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

write_map() { # VALUE FILE
  {
    printf 'modbus:\n  port: 0\n  bind: 127.0.0.1\nmcp:\n  port: 0\n  bind: 127.0.0.1\nadmin:\n  port: 0\n'
    printf 'devices:\n  - unit: 1\n    holdingRegisters: 65536\n    registers:\n'
    awk -v n="$entries" -v v="$1" 'BEGIN { for (i = 0; i < n; i++) printf "      - { table: holding, address: %d, name: r%d, value: \"%d\" }\n", i, i, v }'
  } >"$2"
}

wait_for() { # COUNT PATTERN
  for _ in $(seq 1 1200); do
    [ "$(grep -c "$2" "$work/log" || true)" -ge "$1" ] && return 0
    sleep 0.05
  done
  echo "no '$2' in the log within 60 s" >&2; cat "$work/log" >&2; exit 1
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; } # user + system time of mcpd, in clock ticks

write_map 1 "$work/mcpd.yaml"
: >"$work/log" # before the server's redirection makes it, so the first wait finds a file
dotnet "$dll" serve --config "$work/mcpd.yaml" >"$work/log" 2>&1 & pid=$!
wait_for 1 "modbus listening on"
echo "$entries entries, $(stat -c %s "$work/mcpd.yaml") bytes"
for round in $(seq 1 "$rounds"); do
  write_map $((round + 1)) "$work/next.yaml"
  cpu_start=$(cpu_ticks)
  start=$(date +%s%N)
  mv "$work/next.yaml" "$work/mcpd.yaml"
  wait_for "$round" "Configuration changed: applied"
  end=$(date +%s%N)
  cpu_end=$(cpu_ticks)
  logged=$(grep "Configuration changed: applied" "$work/log" | tail -1 | sed -E 's/.* in ([0-9]+) ms.*/\1/')
  echo "round $round: reload $logged ms (logged by mcpd), $(( (end - start) / 1000000 )) ms from the rename to the log line, $(( (cpu_end - cpu_start) * 1000 / $(getconf CLK_TCK) )) ms of CPU"
done
