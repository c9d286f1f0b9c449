#!/usr/bin/env python3
"""What the bounds of issue 21 cost on the adb path: the collector output inflated in
one call (as before) against a MiB at a time with the cap (dmabuf_top/inflate.py), and
an adb call's read loop without and with the byte count, side by side.

    python bench/inflate_bench.py [--repeat 30]

The streams are collector-like text (fdinfo lines through ``grep -H``, bufinfo rows,
random inodes and names: ~9x compressible with ``gzip -1``, as a real 200x20 scene's
1,452,314 bytes went to 160,289), at the size of that scene and of a big phone (16 MiB).
The read loop reads the gzip'ed stream from a socketpair in 64 KiB recv()s, as
AdbBackend.exec does. Not a test: a script that prints numbers.

Measured (2 cores shared with four engineers' tests and VMs, --repeat 40, three runs):
inflating 1,452,314 bytes 2.66-3.89 ms before, 2.73-4.26 ms after (1.03-1.11x, a few
tenths of a ms against a refresh of 10-15 s in the TCG guest); 16 MiB 91-97 ms before,
98-125 ms after (1.05-1.29x: the steps and the final join); the read loop's byte count
is below the noise (0.57-1.18x).
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import sys
import threading
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dmabuf_top.collect.adb_stream import MAX_OUTPUT, gunzip  # noqa: E402


def stream(size: int, seed: int = 1) -> bytes:
    rnd = random.Random(seed)
    out, n = [], 0
    while n < size:
        pid, fd, ino = rnd.randint(100, 30000), rnd.randint(3, 900), rnd.randint(1, 10**6)
        name = "".join(rnd.choice("abcdefghijklmnop-_0123") for _ in range(rnd.randint(0, 20)))
        p = f"/proc/{pid}/fdinfo/{fd}:"
        rec = (f"{p}pos:\t0\n{p}flags:\t02100002\n{p}mnt_id:\t{rnd.randint(10, 20)}\n"
               f"{p}ino:\t{ino}\n{p}size:\t{rnd.choice([4096, 65536, 8294400])}\n"
               f"{p}count:\t{rnd.randint(1, 9)}\n{p}exp_name:\tsystem\n{p}name:\t{name}\n"
               f"{ino} /proc/{pid}/fd/{fd}\n")
        out.append(rec)
        n += len(rec)
    return "".join(out).encode()[:size]


def gunzip_before(data: bytes) -> bytes:
    """main's gunzip: one decompress() call, no cap."""
    d = zlib.decompressobj(wbits=31)
    out = d.decompress(data) + d.flush()
    assert d.eof
    return out


def read_all(sock: socket.socket, cap: int | None) -> bytes:
    chunks, size = [], 0
    while True:
        b = sock.recv(1 << 16)
        if not b:
            return b"".join(chunks)
        if cap is not None:
            size += len(b)
            if size > cap:
                raise ValueError("too large")
        chunks.append(b)


def timed_read(data: bytes, cap: int | None) -> float:
    a, b = socket.socketpair()
    t = threading.Thread(target=lambda: (a.sendall(data), a.close()))
    t0 = time.perf_counter()
    t.start()
    got = read_all(b, cap)
    dt = time.perf_counter() - t0
    t.join()
    b.close()
    assert got == data
    return dt


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    print(f"{'raw size':>12} {'gzip size':>10} {'what':<22} {'before':>9} {'after':>9} "
          f"{'ratio':>6}")
    for size in (1_452_314, 16 << 20):
        raw = stream(size)
        gz = zlib.compressobj(1, zlib.DEFLATED, 31)
        packed = gz.compress(raw) + gz.flush()
        assert gunzip(packed) == gunzip_before(packed) == raw
        runs = {"inflate": ([], []), "read loop": ([], [])}
        for _ in range(args.repeat):  # interleaved: the same load on both
            for i, f in enumerate((gunzip_before, gunzip)):
                t0 = time.perf_counter()
                f(packed)
                runs["inflate"][i].append(time.perf_counter() - t0)
            for i, cap in enumerate((None, MAX_OUTPUT)):
                runs["read loop"][i].append(timed_read(packed, cap))
        for what, (before, after) in runs.items():
            b, a = statistics.median(before), statistics.median(after)
            print(f"{size:>12,} {len(packed):>10,} {what + ' (median)':<22} "
                  f"{b * 1e3:>7.2f}ms {a * 1e3:>7.2f}ms {a / b:>5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
