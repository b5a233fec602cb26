#!/usr/bin/env bash
# The gateway against a relay, interleaved (issue 13): FC03 x 10 registers from ../shared/bench's mbload to
#   direct   the C reference server of ../shared/bench (limit_server), the "device"
#   haproxy  HAProxy (Debian haproxy, mode tcp) relaying to that device: a byte relay, one device connection per client
#   gateway  mcpd as a gateway to that device (upstream pool of 8 connections, 16 requests in flight on each)
#
#   perf/gateway-compare.sh [--rounds N] [--seconds S] [--loads "1x1 16x1 64x1 16x8"] [path/to/mcpd.dll]
#
# The dll defaults to the Release build (dotnet build -c Release src/Mcpd). It installs haproxy with apt-get when
# missing, starts every server on loopback, warms each up once per load, then runs the three in the same order each
# round (A B C A B C ...) and prints the median requests/s of each, the gateway's ratio to the relay, and the CPU
# time the relaying process spent per request (mcpd, or haproxy), read from /proc before and after each run. Client,
# relay and device share the machine's cores: only ratios from one run compare. Every process it starts is ended by
# PID when it exits; each load run is bounded by --seconds (and killed 30 s after).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/loopback.sh"
compare_setup gateway-compare haproxy "1x1 16x1 64x1 16x8" "$@"

device_port=15730 relay_port=15731 gateway_port=15732
cat >"$work/mcpd.yaml" <<EOF
modbus:
  port: $gateway_port
mcp:
  port: 15733
admin:
  port: 15734
upstreams:
  device:
    address: "127.0.0.1:$device_port"
    tcp:
      maxConnections: 8
      maxInFlightPerConnection: 16
devices:
  - { unit: 1, name: bench device, upstream: device }
EOF
# A plain relay: no pooling, no pipelining of its own; the threads Debian's build picks for two cores.
cat >"$work/haproxy.cfg" <<EOF
global
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend modbus
  bind 127.0.0.1:$relay_port
  default_backend device
backend device
  server device 127.0.0.1:$device_port
EOF

"$kit/limit_server" -p $device_port >/dev/null 2>&1 & pids+=($!); device_pid=$!
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 & pids+=($!); relay_pid=$!
dotnet "$dll" serve --config "$work/mcpd.yaml" >"$work/mcpd.log" 2>&1 & pids+=($!); gateway_pid=$!
for port in $device_port $relay_port $gateway_port; do wait_port $port; done

names=(direct haproxy gateway)
ports=($device_port $relay_port $gateway_port)
relay_pids=("$device_pid" "$relay_pid" "$gateway_pid")
ticks_per_second=$(getconf CLK_TCK)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system time of a PID, in clock ticks

run_load() { # index conns depth seconds -> "requests/s cpu-microseconds-per-request"
  local i=$1 conns=$2 depth=$3 secs=$4 before after line
  before=$(cpu_ticks "${relay_pids[$i]}")
  line=$(timeout $((secs + 30)) "$kit/mbload" --port "${ports[$i]}" --conns "$conns" --depth "$depth" \
    --seconds "$secs" --fc 3 --count 10 --quiet)
  after=$(cpu_ticks "${relay_pids[$i]}")
  case "$line" in *" errors=0 "*|*" errors=0") ;; *) echo "errors in ${names[$i]}: $line" >&2 ;; esac
  awk -v line="$line" -v cpu=$((after - before)) -v hz="$ticks_per_second" 'BEGIN {
    match(line, /reqs=[0-9]+/); n = substr(line, RSTART + 5, RLENGTH - 5)
    match(line, /rps=[0-9]+/); printf "%s %.1f\n", substr(line, RSTART + 4, RLENGTH - 4), n ? cpu * 1e6 / hz / n : 0 }'
}

echo "mcpd $dll; $(nproc) cores; $(haproxy -v | head -1); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for load in $loads; do
  conns=${load%x*} depth=${load#*x}
  for i in "${!names[@]}"; do run_load "$i" "$conns" "$depth" 2 >/dev/null; done # warm-up, not counted
  declare -A rps=() cpu=()
  for _ in $(seq 1 "$rounds"); do
    for i in "${!names[@]}"; do
      read -r r c <<<"$(run_load "$i" "$conns" "$depth" "$seconds")"
      rps[$i]+="$r " cpu[$i]+="$c "
    done
  done
  printf '\n%s connections x depth %s, FC03 x 10, %s rounds of %s s (CPU: of the device, the relay, the gateway)\n' "$conns" "$depth" "$rounds" "$seconds"
  for i in "${!names[@]}"; do
    printf '  %-8s median %8s rps  CPU %6s us/request   runs: %s | us/req: %s\n' "${names[$i]}" \
      "$(tr ' ' '\n' <<<"${rps[$i]}" | grep . | median)" "$(tr ' ' '\n' <<<"${cpu[$i]}" | grep . | median)" "${rps[$i]}" "${cpu[$i]}"
  done
  relay=$(tr ' ' '\n' <<<"${rps[1]}" | grep . | median)
  gateway=$(tr ' ' '\n' <<<"${rps[2]}" | grep . | median)
  awk -v g="$gateway" -v r="$relay" 'BEGIN { printf "  mcpd gateway / HAProxy relay: %.1f %%\n", 100 * g / r }'
  unset rps cpu
done
grep -i "warn\|fail\|error" "$work/mcpd.log" | head -5 || true
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
