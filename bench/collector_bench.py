#!/usr/bin/env python3
"""What the collector's ``stat`` section (parents and start times of the holders and of
their ancestors) costs, side by side in one run, on this machine:

    python bench/collector_bench.py [--holders 100] [--depth 3] [--repeat 15] [--shell dash]

Starts HOLDERS processes that each map a file under a ``/dmabuf`` path (so the collector
takes them for holders: this machine has no dma-bufs), under a chain of DEPTH parent
processes, then runs collector.sh as shipped and the same script without its ``stat``
section, alternately, REPEAT times each under SHELL. Prints the median wall time of
each, their ratio, and the bytes each printed (and gzip -1'ed, as sent by adb).
Not a test: a script that prints numbers.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dmabuf_top.collect.adb_stream import collector_script, parse_stream  # noqa: E402

#: a holder: maps a file named like a dma-buf, then waits for its stdin to close
HOLDER = r"""
import mmap, os, sys
f = open(os.path.join(sys.argv[1], f"dmabuf:{os.getpid()}"), "w+b")
f.write(b"\0" * 4096); f.flush()
m = mmap.mmap(f.fileno(), 4096)
print("ready", flush=True)
sys.stdin.read()
"""
#: a parent: DEPTH-1 more parents, then HOLDERS holders; prints "ready" when all are
TREE = r"""
import subprocess, sys
depth, holders, d, holder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
if depth > 1:
    cmd = [sys.executable, "-c", sys.argv[5], str(depth - 1), *sys.argv[2:]]
    kids = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)]
else:
    cmd = [sys.executable, "-c", holder, d]
    kids = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for _ in range(holders)]
for k in kids:
    assert k.stdout.readline() == "ready\n"
print("ready", flush=True)
sys.stdin.read()
for k in kids:
    k.stdin.close()
    k.wait()
"""


def without_stat(script: str) -> str:
    """collector.sh less its ``stat`` section (as it was before it)."""
    cut, n = re.subn(r"\nm stat\n.*?\nset \+f\n", "\n", script, count=1, flags=re.S)
    assert n == 1, "no stat section found"
    return cut


def run(shell: str, script: str) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    r = subprocess.run([shell, "-c", script, "dmabuf-top"], capture_output=True, check=True)
    return time.perf_counter() - t0, r.stdout


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--holders", type=int, default=100)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--shell", default="dash")
    args = p.parse_args()
    shell = shutil.which(args.shell)
    if shell is None:
        p.error(f"{args.shell}: not found")
    scripts = {"with stat": collector_script(), "without": without_stat(collector_script())}
    with tempfile.TemporaryDirectory() as d:
        tree = subprocess.Popen(
            [sys.executable, "-c", TREE, str(args.depth), str(args.holders), d, HOLDER, TREE],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert tree.stdout is not None and tree.stdout.readline() == "ready\n"
            times: dict[str, list[float]] = {k: [] for k in scripts}
            out: dict[str, bytes] = {}
            for _ in range(args.repeat):
                for name, script in scripts.items():
                    t, out[name] = run(shell, script)
                    times[name].append(t)
        finally:
            assert tree.stdin is not None
            tree.stdin.close()
            tree.wait()
    raw = parse_stream(out["with stat"], "2026-01-01T00:00:00Z")
    held = [pt for pt in raw.procs if pt.stat]
    print(f"{len(raw.procs)} holders ({len(held)} with stat), {len(raw.ancestor_stats)} "
          f"ancestors, depth {args.depth}, {args.shell}, median of {args.repeat} runs each")
    for name in scripts:
        print(f"  {name:10s} median {statistics.median(times[name]) * 1000:7.1f} ms  "
              f"{len(out[name]):8,d} bytes, {len(gzip.compress(out[name], 1)):7,d} gzip -1")
    ratio = statistics.median(times["with stat"]) / statistics.median(times["without"])
    extra = len(out["with stat"]) - len(out["without"])
    print(f"  ratio {ratio:.2f}  (+{extra:,d} bytes; {os.cpu_count()} cpus)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
