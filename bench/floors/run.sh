#!/usr/bin/env bash
# The machine's floors under a durable, authenticated call, beside nothing of Writ: what a commit of N WAL-sized pages
# plus fdatasync costs on this disk (SQLite writes each frame as a 24-byte header and a 4 KiB page), and a 1.5 KB
# round trip between two processes over TCP and over a Unix socket. docs/performance.md (MCP, 2026-12-07) quotes it.
# Usage: bench/floors/run.sh [DIR]   (DIR: where to write the test file, default: a temp directory on the data disk)
set -euo pipefail
DIR="${1:-$(mktemp -d /tmp/writ-floors.XXXXXX)}"
python3 - "$DIR" <<'PY'
import os, socket, sys, time
d = sys.argv[1]

def pct(ts):
    ts.sort(); n = len(ts)
    return "p50=%.0f p90=%.0f p99=%.0f us" % (ts[n // 2], ts[n * 9 // 10], ts[n * 99 // 100])

def disk(pages, sync_name, n=2000):
    path = os.path.join(d, "floor.bin")
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    os.ftruncate(fd, 4 << 20); os.fsync(fd)  # preallocated, as a recycled WAL is
    page, hdr, sync, off, ts = os.urandom(4096), os.urandom(24), getattr(os, sync_name), 0, []
    for _ in range(n):
        t = time.perf_counter_ns()
        for _ in range(pages):
            os.pwrite(fd, hdr, off); os.pwrite(fd, page, off + 24); off += 4120
            if off > (4 << 20) - 8192: off = 0
        sync(fd)
        ts.append((time.perf_counter_ns() - t) / 1000)
        time.sleep(0.0003)  # one call at a time, as a request is
    os.close(fd); os.unlink(path)
    print(f"disk  {pages} page(s) + {sync_name:9} {pct(ts)}")

def loopback(kind, n=20000):
    if kind == "tcp":
        srv = socket.socket(); srv.bind(("127.0.0.1", 0)); addr, fam = srv.getsockname(), socket.AF_INET
    else:
        addr, fam = os.path.join(d, "floor.sock"), socket.AF_UNIX
        srv = socket.socket(fam); srv.bind(addr)
    srv.listen(1)
    child = os.fork()
    if child == 0:
        c, _ = srv.accept()
        if kind == "tcp": c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while (data := c.recv(4096)): c.sendall(data)
        os._exit(0)
    c = socket.socket(fam); c.connect(addr)
    if kind == "tcp": c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    msg, ts = b"x" * 1500, []
    for i in range(n):
        t = time.perf_counter_ns(); c.sendall(msg); got = 0
        while got < len(msg): got += len(c.recv(4096))
        ts.append((time.perf_counter_ns() - t) / 1000)
        if i % 2 == 0: time.sleep(0.0002)
    c.close(); os.waitpid(child, 0); srv.close()
    if kind == "unix": os.unlink(addr)
    print(f"loopback {kind:4} 1.5 KB round trip {pct(ts)}")

for pages in (1, 7):
    disk(pages, "fdatasync")
disk(7, "fsync")
loopback("tcp"); loopback("unix")
PY
