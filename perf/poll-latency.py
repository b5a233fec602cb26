#!/usr/bin/env python3
# A Modbus poller beside an attack (docs/reliability.md): reads one holding register of unit 1 every INTERVAL ms for
# SECONDS seconds on one connection and prints the answers' latency (median, p99, max) and how many were slower than
# 50 ms. Run it while perf/crc-flood.py or perf/frame-hold.py attacks another port. Loopback only; stops by itself.
#   python3 perf/poll-latency.py MODBUS_PORT [SECONDS=10] [INTERVAL_MS=10]
import socket, struct, sys, time
port = int(sys.argv[1]); seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10; interval = (float(sys.argv[3]) if len(sys.argv) > 3 else 10) / 1000
s = socket.create_connection(('127.0.0.1', port)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1); s.settimeout(5)
latencies, tid, end = [], 0, time.time() + seconds
while time.time() < end:
    tid = (tid + 1) & 0xFFFF
    start = time.perf_counter()
    s.sendall(struct.pack('>HHHBBHH', tid, 0, 6, 1, 3, 0, 1))
    answer = b''
    while len(answer) < 11: answer += s.recv(11 - len(answer))
    latencies.append((time.perf_counter() - start) * 1000)
    if latencies[-1] > 50 and len(sys.argv) > 4: print(time.strftime("%H:%M:%S"), f"{latencies[-1]:.1f} ms")
    time.sleep(interval)
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(f'{len(latencies)} polls: median {pick(0.5):.2f} ms, p99 {pick(0.99):.2f} ms, max {latencies[-1]:.2f} ms, {sum(l > 50 for l in latencies)} over 50 ms')
