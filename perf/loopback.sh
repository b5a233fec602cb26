# Shared by the perf scripts (source it): waiting for a server started on loopback, and the median of samples.

# wait_port PORT: returns once something accepts on 127.0.0.1:PORT; gives up after 20 s, ending the script.
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  exit 1
}

# median: the median of the numbers on stdin, one a line (the mean of the middle two for an even count).
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The set-up the interleaved comparisons share (perf/*-compare.sh). compare_setup NAME PACKAGE DEFAULT_LOADS ARGS...
# reads --rounds N, --seconds S, --loads "CxD ...", and an mcpd.dll (default: the Release build) from ARGS into
# rounds, seconds, loads and dll; builds ../shared/bench's kit into $kit when missing; installs the Debian PACKAGE
# with apt-get when its command is missing; makes $work, a temporary directory; and arranges that every PID added to
# pids is ended, and $work removed, when the script exits.
compare_setup() {
  local name=$1 package=$2 usage_loads=$3
  shift 3
  rounds=5 seconds=5 loads=$usage_loads
  dll=$here/../src/Mcpd/bin/Release/net10.0/mcpd.dll
  while [ $# -gt 0 ]; do
    case "$1" in
      --rounds) rounds=$2; shift 2 ;;
      --seconds) seconds=$2; shift 2 ;;
      --loads) loads=$2; shift 2 ;;
      *.dll) dll=$1; shift ;;
      *) echo "usage: $0 [--rounds N] [--seconds S] [--loads \"$usage_loads\"] [mcpd.dll]" >&2; exit 2 ;;
    esac
  done
  [ -f "$dll" ] || { echo "no $dll: dotnet build -c Release src/Mcpd first" >&2; exit 2; }
  dll=$(cd "$(dirname "$dll")" && pwd)/$(basename "$dll")

  kit=${MCPD_BENCH_KIT:-/tmp/mcpd-bench}
  [ -x "$kit/limit_server" ] || bash "$here/../../shared/bench/build.sh" "$kit" >/dev/null
  if ! command -v "$package" >/dev/null; then
    apt-get install -y -q "$package" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "$package" >/dev/null; }
  fi

  work=$(mktemp -d "/tmp/mcpd-$name.XXXXXX")
  pids=()
  trap compare_cleanup EXIT
}

compare_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
