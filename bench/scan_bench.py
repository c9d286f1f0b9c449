#!/usr/bin/env python3
"""Scan speed in the real-kernel VM: the BPF scan and the /proc walk vs a minimal C scanner.

    python bench/scan_bench.py [--series 6.18] [--procs 200] [--bufs-per-proc 20]
                               [--plain-procs 100] [--plain-fds 150] [--repeat 5]
                               [--rounds 3] [--gem-handles 10000 --gem-exported 2000]
                               [--gem-only]

Boots the test VM (tests/support/vm) once, builds the scale scenario in it (PROCS
processes x BUFS_PER_PROC dma-bufs, plus PLAIN_PROCS processes with PLAIN_FDS ordinary
fds each, plus the base scenario), compiles bench/cscan.c on the host (gcc -O2, static
when possible) and times inside the guest warm refreshes (one warm-up, then the median
of REPEAT; ROUNDS times in turn, each ratio the median of the rounds'), with debugfs
mounted and then unmounted, by: the C floor (the minimal
syscalls of a /proc walk), dmabuf-top's
``LocalBackend(source="proc")``, ``LocalBackend(source="bpf")`` (its iterators,
6.16+, binary records) and the same with ``bpf_binary=False`` (``bpf-text``: the text
build's records), each as ``fetch()`` (reading the kernel: what the C floor does) and
``collect()`` (fetch + assemble: a whole refresh), in-process (no interpreter
start-up).  Prints the times and the ratios to the C floor; ``--profile`` then where
each source's Python time goes (cProfile of REPEAT whole refreshes, by own time).
Not a test: a script that prints numbers.  Times are under qemu TCG (no KVM), ~10x a
real machine's; the ratios are what counts.

Then the GEM handle walk (6.16+): the fd iterator's read time (median of REPEAT) with
and without one more process holding GEM-HANDLES handles on one DRM file, GEM-EXPORTED
of them dma-bufs (tests/support/vm/gem_many.py), and the records it listed.
``--gem-only`` measures that alone, on the base scenario.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.vm.guest import GEM_MANY, start_scenario  # noqa: E402
from tests.support.vm.vm import VM  # noqa: E402

CSCAN_SRC = Path(__file__).resolve().parent / "cscan.c"
#: the walk, the BPF scan (binary records) and the BPF scan of the text build
SOURCES = ("proc", "bpf", "bpf-text")
DEBUGFS = "/sys/kernel/debug"

PY_BENCH = """
import json, statistics, sys, time
from dmabuf_top.collect.local import LocalBackend
repeat, source, profile = int(sys.argv[1]), sys.argv[2], sys.argv[3:] == ["profile"]
b = LocalBackend(source=source.split("-")[0], bpf_binary=source != "bpf-text")
out = {}
for what in ("fetch", "collect"):
    call = getattr(b, what)
    call()  # warm-up: caches, lazy imports
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - t0)
    out[what] = statistics.median(times)
    out[what + "_best"] = min(times)
snap = b.collect()
out.update(buffers=len(snap.buffers), processes=len(snap.processes),
           sources=snap.kernel.sources, warnings=snap.warnings)
if profile:  # where a whole refresh's Python time goes
    import cProfile, io, pstats
    prof = cProfile.Profile()
    prof.runcall(lambda: [b.collect() for _ in range(repeat)])
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(25)
    out["profile"] = text.getvalue()
print(json.dumps(out))
"""

GEM_BENCH = """
import json, statistics, sys, time
from dmabuf_top.collect.bpf_loader import FILES, BpfIterators
repeat = int(sys.argv[1])
it = BpfIterators(want=(FILES,))
it.read(FILES)
times = []
for _ in range(repeat):
    t0 = time.perf_counter()
    data = it.read(FILES)
    times.append(time.perf_counter() - t0)
kinds = data[2::56]  # each binary record's kind (56-byte records: parsers/bpf_records.py)
print(json.dumps({"read": statistics.median(times), "g": kinds.count(b"g"),
                  "reads": 1 + kinds.count(b"G")}))
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
    ap.add_argument("--series", default="6.18", help="kernel series (tests/support/vm/kernels.py)")
    ap.add_argument("--procs", type=int, default=200)
    ap.add_argument("--bufs-per-proc", type=int, default=20)
    ap.add_argument("--plain-procs", type=int, default=100)
    ap.add_argument("--plain-fds", type=int, default=150)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--rounds", type=int, default=3,
        help="C, walk and BPF run one after the other this many times; each ratio is the "
        "median of the rounds' ratios (a shared, noisy machine)",
    )
    ap.add_argument("--gem-handles", type=int, default=10_000)
    ap.add_argument("--gem-exported", type=int, default=2_000)
    ap.add_argument("--profile", action="store_true",
                    help="then profile REPEAT whole BPF refreshes (cProfile, by own time)")
    ap.add_argument("--gem-only", action="store_true",
                    help="only the GEM handle walk, on the base scenario")
    args = ap.parse_args()
    if args.gem_only:
        return gem_walk(args)

    with tempfile.TemporaryDirectory() as tmp:
        cscan, linkage = build_cscan(Path(tmp))
        binary = cscan.read_bytes()
    with VM(memory="3G", series=args.series) as vm:
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
            rows: dict[str, list[dict]] = {}
            for debugfs in ("mounted", "unmounted"):
                if debugfs == "unmounted":
                    vm.run(["umount", DEBUGFS], timeout=60, check=True)
                rows[debugfs] = []
                for n in range(args.rounds):
                    c = vm.run(["/tmp/cscan", str(args.repeat)], timeout=1800, check=True)
                    results = {"C": parse_kv(c.stdout)}
                    for source in SOURCES:
                        prof = ["profile"] if args.profile and n == args.rounds - 1 else []
                        p = vm.run(
                            [vm.python, "-c", PY_BENCH, str(args.repeat), source, *prof],
                            cwd=str(REPO), timeout=3600,
                        )  # fmt: skip
                        if p.returncode:
                            print(f"LocalBackend({source}) failed:\n{p.stderr}", file=sys.stderr)
                            return 1
                        results[source] = json.loads(p.stdout)
                    rows[debugfs].append(results)
            vm.run(["mount", "-t", "debugfs", "none", DEBUGFS], timeout=60, check=True)
    med = statistics.median
    for debugfs, rounds in rows.items():
        cres = rounds[-1]["C"]
        c_all = [r["C"]["median_s"] for r in rounds]
        c_best = min(r["C"]["best_s"] for r in rounds)  # the least disturbed by others' load
        print(f"debugfs {debugfs} ({len(rounds)} rounds of C, walk, BPF; each a median of "
              f"{args.repeat} warm refreshes):")
        print(
            f"  C floor ({linkage}): {med(c_all) * 1000:8.1f} ms (best {c_best * 1000:.1f})  "
            f"({int(cres['dmabuf_fds'])} dma-buf fds, {int(cres['map_lines'])} dma-buf maps "
            f"lines, {int(cres['holders'])} holders, {int(cres['procs'])} pids, "
            f"{int(cres['bufinfo_bytes'])} bytes of bufinfo)"
        )
        for source in SOURCES:
            res = rounds[-1][source]
            cells = []
            for what in ("fetch", "collect"):
                ms = med([r[source][what] for r in rounds]) * 1000
                ratios = [r[source][what] / r["C"]["median_s"] for r in rounds]
                each = " ".join(f"{x:.2f}" for x in ratios)
                best = min(r[source][what + "_best"] for r in rounds)
                cells.append(f"{what}(): {ms:8.1f} ms = {med(ratios):4.2f}x C [{each}], "
                             f"best {best * 1000:.1f} ms = {best / c_best:4.2f}x C's best")
            print(f"  {source:>8} " + "   ".join(cells) + f"   ({res['buffers']} buffers, "
                  f"{res['processes']} processes, sources {'+'.join(res['sources']) or '-'})")
            for w in res["warnings"]:
                print(f"       warning: {w}")
            if "profile" in res:
                print(res["profile"])
    return 0


def gem_walk(args: argparse.Namespace) -> int:
    """The fd iterator's read, without and with a process of many GEM handles."""
    with VM(memory="3G", series=args.series) as vm:
        print(f"VM: Linux {vm.kernel_release}, booted in {vm.boot_time:.1f}s")
        with start_scenario(vm):
            res = {}
            for label in ("without", "with"):
                if label == "with":
                    many = start_scenario(
                        vm, "--handles", str(args.gem_handles), "--exported",
                        str(args.gem_exported), out="/tmp/gem.json", script=GEM_MANY,
                    )  # fmt: skip
                p = vm.run([vm.python, "-c", GEM_BENCH, str(args.repeat)], cwd=str(REPO),
                           timeout=1800)
                if p.returncode:
                    print(f"the fd iterator failed:\n{p.stderr}", file=sys.stderr)
                    return 1
                res[label] = json.loads(p.stdout)
            many.stop()
    a, b = res["without"], res["with"]
    extra = b["read"] - a["read"]
    print(f"fd iterator read (median of {args.repeat}), base scenario: {a['read'] * 1000:.1f} ms "
          f"({a['g']} GEM handle records, {a['reads']} read)")
    print(f"  + a process with {args.gem_handles} handles, {args.gem_exported} dma-bufs: "
          f"{b['read'] * 1000:.1f} ms ({b['g']} records, {b['reads']} reads) = "
          f"{b['read'] / a['read']:.2f}x; the walk: +{extra * 1000:.1f} ms, "
          f"{extra / args.gem_handles * 1e6:.2f} us per handle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
