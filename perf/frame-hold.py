#!/usr/bin/env python3
# Memory an attacker can make the server hold (docs/reliability.md): CONNS connections each send an MCP header announcing
# a SIZE-byte payload and SIZE-1 bytes of it, so no frame ever completes; the script prints the server's RSS with the
# connections open and after they close, ROUNDS times, then once more after SETTLE seconds of quiet. Loopback only.
#   python3 perf/frame-hold.py PORT SERVER_PID [CONNS=150] [SIZE=1048576] [ROUNDS=3] [SETTLE=20]
import socket, struct, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
conns, size, rounds, settle = [int(a) for a in sys.argv[3:7]] + [150, 1048576, 3, 20][len(sys.argv[3:7]):]
def rss_mb():
    for line in open(f'/proc/{pid}/status'):
        if line.startswith('VmRSS:'): return int(line.split()[1]) / 1024
print(f'start: RSS {rss_mb():.0f} MB')
body = b'\x00' * (size - 1)
for r in range(rounds):
    sockets, refused = [], 0
    for _ in range(conns):
        s = socket.create_connection(('127.0.0.1', port)); s.settimeout(10)
        try: s.sendall(struct.pack('>HBBI', 0x4D43, 1, 0, size) + body)
        except OSError: refused += 1
        sockets.append(s)
    time.sleep(1)
    held = rss_mb()
    closed = 0
    for s in sockets:
        s.setblocking(False)
        try: s.recv(65536); closed += 1        # an ERROR frame, or the end of the stream
        except BlockingIOError: pass
        except OSError: closed += 1
        s.close()
    time.sleep(2)
    print(f'round {r + 1}: {conns} connections x {size} bytes: RSS {held:.0f} MB while held ({refused} sends failed, {closed} refused by the server), {rss_mb():.0f} MB after close')
time.sleep(settle)
print(f'after {settle} s quiet: RSS {rss_mb():.0f} MB')
