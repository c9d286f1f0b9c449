#!/usr/bin/env python3
"""Scan speed in the real-kernel VM: dmabuf-top's LocalBackend vs a minimal C scanner.

    python bench/scan_bench.py [--procs 200] [--bufs-per-proc 20] [--plain-procs 10]
                               [--plain-fds 1000] [--repeat 5]

Boots the test VM (tests/support/vm), builds the scale scenario in it (PROCS processes x
BUFS_PER_PROC vgem dma-bufs, plus PLAIN_PROCS processes with PLAIN_FDS ordinary fds
each, plus the base scenario), compiles bench/cscan.c on the host (gcc -O2, static
when possible) and times inside the guest one full scan by each: best of REPEAT,
in-process (the python timing excludes interpreter start-up and imports).  Prints both
times and the ratio.  Not a test: a script that prints numbers.  Times are under qemu
TCG (no KVM), so absolute values are ~10x a real machine's; the ratio is what counts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.vm.guest import start_scenario  # noqa: E402
from tests.support.vm.vm import VM  # noqa: E402

CSCAN_SRC = Path(__file__).resolve().parent / "cscan.c"

PY_BENCH = """
import json, sys, time
from dmabuf_top.collect.local import LocalBackend
repeat = int(sys.argv[1])
b = LocalBackend()
times = []
for _ in range(repeat + 1):  # the first run warms caches and lazy imports
    t0 = time.perf_counter()
    snap = b.collect()
    times.append(time.perf_counter() - t0)
print(json.dumps({"best_s": min(times[1:]), "first_s": times[0], "buffers": len(snap.buffers),
                  "processes": len(snap.processes)}))
"""


def build_cscan(dest: Path) -> tuple[Path, str]:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if not gcc:
        raise SystemExit("gcc not found: apt-get install gcc libc6-dev")
    out = dest / "cscan"
    for flags in (["-static"], []):
        r = subprocess.run(
            [gcc, "-O2", "-Wall", *flags, "-o", str(out), str(CSCAN_SRC)],
            capture_output=True,
            text=True,
        )
        if r.returncode == 0:
            return out, "static" if flags else "dynamic"
    raise SystemExit(f"cannot compile {CSCAN_SRC}:\n{r.stderr}")


def parse_kv(line: str) -> dict[str, float]:
    return {k: float(v) for k, v in (item.split("=") for item in line.split())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--procs", type=int, default=200)
    ap.add_argument("--bufs-per-proc", type=int, default=20)
    ap.add_argument("--plain-procs", type=int, default=10)
    ap.add_argument("--plain-fds", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cscan, linkage = build_cscan(Path(tmp))
        binary = cscan.read_bytes()
    with VM(memory="3G") as vm:
        print(f"VM: Linux {vm.kernel_release}, booted in {vm.boot_time:.1f}s")
        vm.write_file("/tmp/cscan", binary, mode=0o755)
        t0 = time.monotonic()
        scen = start_scenario(
            vm,
            "--procs", str(args.procs), "--bufs-per-proc", str(args.bufs_per_proc),
            "--plain-procs", str(args.plain_procs), "--plain-fds", str(args.plain_fds),
            "--no-impostor",
            timeout=1800,
        )  # fmt: skip
        with scen:
            rec = scen.record
            nproc = int(vm.sh("ls -d /proc/[0-9]* | wc -l"))
            print(
                f"scenario: {rec['totals']['buffers']} dma-bufs in {len(rec['processes'])} "
                f"processes (+{args.plain_procs} x {args.plain_fds} plain fds), {nproc} pids "
                f"in the guest, built in {time.monotonic() - t0:.1f}s"
            )
            c = vm.run(["/tmp/cscan", str(args.repeat + 1)], timeout=1800, check=True)
            cres = parse_kv(c.stdout)
            p = vm.run([vm.python, "-c", PY_BENCH, str(args.repeat)], cwd=str(REPO), timeout=3600)
            if p.returncode:
                print(f"python LocalBackend failed:\n{p.stderr}", file=sys.stderr)
                return 1
            pres = json.loads(p.stdout)
    c_s, py_s = cres["best_s"], pres["best_s"]
    print(
        f"C scanner ({linkage}): {c_s * 1000:8.1f} ms  best of {args.repeat}  "
        f"({int(cres['dmabuf_fds'])} dma-buf fds, {int(cres['map_lines'])} dma-buf maps lines, "
        f"{int(cres['holders'])} holders, {int(cres['procs'])} pids)"
    )
    print(
        f"LocalBackend.collect(): {py_s * 1000:8.1f} ms  best of {args.repeat}  "
        f"(first {pres['first_s'] * 1000:.0f} ms; {pres['buffers']} buffers, "
        f"{pres['processes']} processes)"
    )
    print(f"ratio python/C: {py_s / c_s:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
