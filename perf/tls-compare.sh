#!/usr/bin/env bash
# Modbus over TLS, interleaved (issue 11, "Performance"): FC03 x 10 registers through one load generator,
# `mcpd bench modbus`, against
#   plain    mcpd's plain Modbus TCP listener
#   tls      mcpd's Modbus/TCP Security listener (mutual TLS, a client certificate whose role may read)
#   stunnel  stunnel (Debian stunnel4, the same mutual TLS) in front of the C reference server of ../shared/bench
#
#   perf/tls-compare.sh [--rounds N] [--seconds S] [--loads "64x1 16x8"] [path/to/mcpd.dll]
#
# The dll defaults to the Release build (dotnet build -c Release src/Mcpd). It makes a development PKI with
# `mcpd cert` in a temporary directory, installs stunnel4 with apt-get when missing, starts every server on
# loopback, warms each up once per load, then runs the three in the same order each round (A B C A B C ...) and
# prints the median requests/s of each, the ratios, and the CPU time each server side spent per request (mcpd; or
# stunnel and the C server together), read from /proc before and after each run. Client and servers share the
# machine's cores: only ratios from one run compare. Every process it starts is ended by PID when it exits; each
# load run is bounded by --seconds (and killed 30 s after).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/loopback.sh"
compare_setup tls-compare stunnel4 "64x1 16x8" "$@"

mcpd() { dotnet "$dll" "$@"; }
cd "$work"
mcpd cert ca >/dev/null
mcpd cert server >/dev/null
mcpd cert client bench --role Viewer >/dev/null

plain_port=15710 tls_port=15711 reference_port=15720 stunnel_port=15721
cat >mcpd.yaml <<EOF
modbus:
  port: $plain_port
  tls:
    port: $tls_port
    bind: 127.0.0.1
    certificate: $work/server.pem
    key: $work/server.key
    clientCa: $work/ca.pem
mcp:
  port: 15712
admin:
  port: 15713
security:
  roles:
    Viewer: [ { access: read } ]
EOF
# The same checks as mcpd's listener: a client certificate chaining to ca.pem, TLS 1.2 or later; no Nagle on
# either side, as mcpd and the load generator.
cat >stunnel.conf <<EOF
foreground = yes
pid =
syslog = no
output = $work/stunnel.log
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
[modbus-tls]
accept = 127.0.0.1:$stunnel_port
connect = 127.0.0.1:$reference_port
cert = $work/server.pem
key = $work/server.key
CAfile = $work/ca.pem
verifyChain = yes
requireCert = yes
sslVersionMin = TLSv1.2
EOF

# Started as a command, not through the function above, so that $! is the server's own PID (its CPU is read from it).
dotnet "$dll" serve --config mcpd.yaml >"$work/mcpd.log" 2>&1 & pids+=($!); mcpd_pid=$!
"$kit/limit_server" -p $reference_port >/dev/null 2>&1 & pids+=($!); reference_pid=$!
stunnel4 stunnel.conf >/dev/null 2>&1 & pids+=($!); stunnel_pid=$!

for port in $plain_port $tls_port $reference_port $stunnel_port; do wait_port $port; done

names=(plain tls stunnel)
ports=($plain_port $tls_port $stunnel_port)
tls_flags="--ca $work/ca.pem --cert $work/bench.pem --key $work/bench.key"
flags=("" "$tls_flags" "$tls_flags")
server_pids=("$mcpd_pid" "$mcpd_pid" "$stunnel_pid $reference_pid")
ticks_per_second=$(getconf CLK_TCK)

cpu_ticks() { # the user and system time of the PIDs, in clock ticks
  local total=0 pid
  for pid in "$@"; do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  echo $total
}

run_load() { # index conns depth seconds -> "requests/s cpu-microseconds-per-request"
  local i=$1 conns=$2 depth=$3 secs=$4 before after line requests
  before=$(cpu_ticks ${server_pids[$i]})
  line=$(timeout $((secs + 30)) dotnet "$dll" bench modbus "127.0.0.1:${ports[$i]}" --conns "$conns" --depth "$depth" \
    --seconds "$secs" --count 10 --quiet ${flags[$i]})
  after=$(cpu_ticks ${server_pids[$i]})
  case "$line" in *" errors=0 "*) ;; *) echo "errors in ${names[$i]}: $line" >&2 ;; esac
  requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
  awk -v line="$line" -v cpu=$((after - before)) -v hz="$ticks_per_second" -v n="$requests" 'BEGIN {
    match(line, /rps=[0-9]+/); printf "%s %.1f\n", substr(line, RSTART + 4, RLENGTH - 4), n ? cpu * 1e6 / hz / n : 0 }'
}

echo "mcpd $dll; $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
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
  printf '\n%s connections x depth %s, FC03 x 10, %s rounds of %s s\n' "$conns" "$depth" "$rounds" "$seconds"
  for i in "${!names[@]}"; do
    printf '  %-8s median %8s rps  server CPU %6s us/request   runs: %s | us/req: %s\n' "${names[$i]}" \
      "$(tr ' ' '\n' <<<"${rps[$i]}" | grep . | median)" "$(tr ' ' '\n' <<<"${cpu[$i]}" | grep . | median)" "${rps[$i]}" "${cpu[$i]}"
  done
  tls=$(tr ' ' '\n' <<<"${rps[1]}" | grep . | median)
  stunnel=$(tr ' ' '\n' <<<"${rps[2]}" | grep . | median)
  plain=$(tr ' ' '\n' <<<"${rps[0]}" | grep . | median)
  awk -v t="$tls" -v s="$stunnel" -v p="$plain" 'BEGIN { printf "  mcpd TLS / stunnel + C: %.1f %%   mcpd TLS / mcpd plain: %.1f %%\n", 100 * t / s, 100 * t / p }'
  unset rps cpu
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
