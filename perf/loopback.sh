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
