#!/usr/bin/env python3
# Sends TOTAL bytes of noise to a CRC-framed MCP port (4 KiB every millisecond) and prints the server's CPU time until
# it is idle again (docs/performance.md, "CRC resynchronisation"). Loopback only; stops by itself.
#   python3 perf/crc-flood.py PORT SERVER_PID TOTAL [HEXBYTES|random]     (default fill: 5A)
import socket, sys, time, os
port=int(sys.argv[1]); pid=int(sys.argv[2]); total=int(sys.argv[3]); fill=(b'random' if sys.argv[4]=='random' else bytes.fromhex(sys.argv[4])) if len(sys.argv)>4 else b'\x5a'
def cpu():
    f=open(f'/proc/{pid}/stat').read().split(')')[1].split()
    return (int(f[11])+int(f[12]))/os.sysconf('SC_CLK_TCK')
s=socket.create_connection(('127.0.0.1',port)); before=cpu(); t0=time.time()
chunk=(fill*4096)[:4096] if fill!=b'random' else None
sent=0
while sent<total:
    data=os.urandom(4096) if fill==b'random' else chunk
    try: s.sendall(data)
    except OSError as e: print('closed by server after', sent, 'bytes:', e); break
    sent+=len(data); time.sleep(0.001)
last=cpu(); waited=0
while waited<120:
    time.sleep(1); waited+=1; now=cpu()
    if now-last<0.05: break
    last=now
print(f'sent {sent} bytes; server CPU {cpu()-before:.2f}s until idle ({waited}s after the last byte)')
