#!/usr/bin/env python3
"""Scan speed in the real-kernel VM: the BPF scan and the /proc walk vs a minimal C scanner.

    python bench/scan_bench.py [--series 6.18] [--procs 200] [--bufs-per-proc 20]
                               [--plain-procs 100] [--plain-fds 150] [--repeat 5]
                               [--rounds 3] [--sources proc,bpf] [--against CHECKOUT ...]
                               [--gem-handles 10000 --gem-exported 2000] [--gem-only]
                               [--counts]

Boots the test VM (tests/support/vm) once, builds the scale scenario in it (PROCS
processes x BUFS_PER_PROC dma-bufs, plus PLAIN_PROCS processes with PLAIN_FDS ordinary
fds each, plus the base scenario), compiles bench/cscan.c on the host (gcc -O2, static
when possible) and times inside the guest warm refreshes, with debugfs mounted and then
unmounted, by: the C floor (the minimal syscalls of a /proc walk; and ``cscan facts``,
which reads of the holders and their ancestors what the walk reads: stat, cmdline, owner,
cgroup, for C's comm), dmabuf-top's
``LocalBackend(source="proc")`` (the walk by the shipped native collector),
``proc:python`` (``walker="python"``: the walk in Python, with its fdinfo reuse) and
``LocalBackend(source="bpf")`` (its iterators, 6.16+, binary records), each as
``fetch()`` (reading the kernel: what the C floor does) and
``collect()`` (fetch + assemble: a whole refresh), each source a long-lived process
(no interpreter start-up; its Assembler warm), and with ``--against`` the same in
other checkouts (their ``dmabuf_top``: before and after a change, in one boot).
The guest runs them in turn, REPEAT x ROUNDS times after one warm-up each: a C scan,
then each process's fetch() and collect() (each process in turn first after C: in the
6.1 guest, two vCPUs, the one right after C ran slower), so every ratio compares runs made moments
apart on a shared, noisy machine; each ratio printed is the median of those
(C's time: the same turn's). Prints the times and the ratios to both C floors.  Not a
test: a script that prints numbers.  Times are under qemu TCG (no KVM), ~10x a real
machine's; the ratios are what counts.  ``--profile`` then prints where each source's
Python time goes (cProfile of REPEAT whole refreshes of this checkout, by own time).

``--counts`` then counts, with debugfs mounted, the system calls (in all and by kind) and
page faults of one C scan and of one warm ``collect()`` of each checkout and source:
``perf stat`` of the tracepoints in the guest (the host's perf), of C's 6 scans less 2 and
of a process's 5 refreshes less 2 (start-up and warm-up cancel out).

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
DEBUGFS = "/sys/kernel/debug"

#: one source of one checkout (cwd): warm, then a fetch() or collect() per line asked
PY_SOURCE = """
import sys, time
from dmabuf_top.collect.local import LocalBackend
source, _, walker = sys.argv[1].partition(":")
b = LocalBackend(source=source, **({"walker": walker} if walker else {}))
b.collect()  # warm-up: caches, lazy imports, the Assembler
b.fetch()
print("ready", flush=True)
for line in sys.stdin:
    call = getattr(b, line.strip())
    t0 = time.perf_counter()
    call()
    print(time.perf_counter() - t0, flush=True)
snap = b.collect()
print(len(snap.buffers), len(snap.processes), "+".join(snap.kernel.sources) or "-", flush=True)
for w in snap.warnings:
    print(w, flush=True)
"""

#: where REPEAT whole refreshes of one source spend their Python time
PY_PROFILE = """
import cProfile, io, pstats, sys
from dmabuf_top.collect.local import LocalBackend
repeat, (source, _, walker) = int(sys.argv[1]), sys.argv[2].partition(":")
b = LocalBackend(source=source, **({"walker": walker} if walker else {}))
b.collect()
prof = cProfile.Profile()
prof.runcall(lambda: [b.collect() for _ in range(repeat)])
text = io.StringIO()
pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(25)
print(text.getvalue())
"""

#: in the guest: C, then each (checkout, source) process's fetch() and collect(), in turn
GUEST_BENCH = r"""
import json, subprocess, sys
turns, python, cscan = int(sys.argv[1]), sys.argv[2], sys.argv[3]
code = open(sys.argv[4]).read()
runs = [(tree, source) for tree in sys.argv[6].split(",") for source in sys.argv[5].split(",")]
kids = [subprocess.Popen([python, "-c", code, source], cwd=tree, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True) for tree, source in runs]
for k in kids:
    assert k.stdout.readline() == "ready\n"
c, cf, times = [], [], [{"fetch": [], "collect": []} for _ in kids]
for turn in range(turns):
    for floor, mode in ((c, []), (cf, ["facts"])):
        out = subprocess.run([cscan, "1", *mode], capture_output=True, text=True, check=True)
        floor.append(dict(kv.split("=") for kv in out.stdout.split()))
    pairs = list(zip(kids, times))
    for k, t in pairs[turn % len(pairs):] + pairs[:turn % len(pairs)]:
        for what in ("fetch", "collect"):
            k.stdin.write(what + "\n")
            k.stdin.flush()
            t[what].append(float(k.stdout.readline()))
res = []
for k, t in zip(kids, times):
    k.stdin.close()
    n, procs, sources = k.stdout.readline().split()
    res.append(dict(t, buffers=int(n), processes=int(procs), sources=sources,
                    warnings=[w.rstrip("\n") for w in k.stdout]))
    k.wait()
print(json.dumps({"C": c, "C_facts": cf, "runs": res}))
"""

#: one process of one checkout (cwd): warm up, then N refreshes of SOURCE
PY_REFRESHES = """
import sys
from dmabuf_top.collect.local import LocalBackend
source, _, walker = sys.argv[2].partition(":")
b = LocalBackend(source=source, **({"walker": walker} if walker else {}))
b.collect(), b.collect()
for _ in range(int(sys.argv[1])):
    b.collect()
"""
#: what --counts counts
COUNTED = ["page-faults", "raw_syscalls:sys_enter"] + [
    f"syscalls:sys_enter_{s}" for s in (
        "openat", "read", "close", "readlinkat", "getdents64", "newfstatat", "fcntl", "dup",
        "lseek", "brk", "mmap", "munmap")
]

GEM_BENCH = """
import json, statistics, sys, time
from dmabuf_top.collect.bpf_loader import FILES, BpfIterators
repeat = int(sys.argv[1])
it = BpfIterators(want=(FILES,))
it.read(FILES)
times = []
for _ in range(repeat):
    t0 = time.perf_counter()
    text = it.read(FILES)
    times.append(time.perf_counter() - t0)
kinds = text[2::56]  # the kind byte of each 56-byte record (bpf_records.py)
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
    ap.add_argument("--rounds", type=int, default=3,
                    help="REPEAT x ROUNDS turns of C and every process (the old name)")
    ap.add_argument("--sources", default="proc,proc:python,bpf",
                    help="LocalBackend sources to time (SOURCE[:WALKER])")
    ap.add_argument("--profile", action="store_true",
                    help="then profile REPEAT whole refreshes of each source (cProfile)")
    ap.add_argument("--json", help="also write the raw times to this file")
    ap.add_argument("--against", action="append", default=[], type=Path,
                    help="another checkout timed beside this one (repeatable)")
    ap.add_argument("--gem-handles", type=int, default=10_000)
    ap.add_argument("--gem-exported", type=int, default=2_000)
    ap.add_argument("--gem-only", action="store_true",
                    help="only the GEM handle walk, on the base scenario")
    ap.add_argument("--counts", action="store_true",
                    help="then count system calls and page faults per scan (perf in the guest)")
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
            trees = [REPO, *(p.resolve() for p in args.against)]
            vm.write_file("/tmp/py_source.py", PY_SOURCE)
            rows: dict[str, dict] = {}
            for debugfs in ("mounted", "unmounted"):
                if debugfs == "unmounted":
                    vm.run(["umount", DEBUGFS], timeout=60, check=True)
                p = vm.run(
                    [vm.python, "-c", GUEST_BENCH, str(args.repeat * args.rounds), vm.python,
                     "/tmp/cscan", "/tmp/py_source.py", args.sources,
                     ",".join(str(t) for t in trees)],
                    cwd="/tmp", timeout=7200,
                )  # fmt: skip
                if p.returncode:
                    print(f"the guest benchmark failed:\n{p.stderr}", file=sys.stderr)
                    return 1
                rows[debugfs] = json.loads(p.stdout)
                for source in args.sources.split(",") if args.profile else ():
                    p = vm.run([vm.python, "-c", PY_PROFILE, str(args.repeat), source],
                               cwd=str(REPO), timeout=3600)
                    print(f"profile, debugfs {debugfs}, {source}:\n{p.stdout}{p.stderr}")
                if args.json:
                    Path(args.json).write_text(json.dumps(rows))
            vm.run(["mount", "-t", "debugfs", "none", DEBUGFS], timeout=60, check=True)
            counts = count_calls(vm, trees, args.sources.split(",")) if args.counts else None
    report(rows, trees, args, linkage)
    if counts:
        print_counts(counts)
    return 0


def perf_counts(vm: VM, cmd: list[str], cwd: str = "/tmp") -> dict[str, int]:
    """``perf stat`` of COUNTED for one guest command: event -> count."""
    p = vm.run(["perf", "stat", "-x,", "-e", ",".join(COUNTED), "--", *cmd], cwd=cwd,
               timeout=3600)
    if p.returncode:
        raise SystemExit(f"perf stat failed in the guest (apt-get install linux-perf):\n{p.stderr}")
    out = {}
    for line in p.stderr.splitlines():
        f = line.split(",")
        if len(f) > 2 and f[0].isdigit():
            out[f[2].rpartition("sys_enter_")[2] or f[2]] = int(f[0])
    return out


def count_calls(vm: VM, trees: list[Path], sources: list[str]) -> dict[str, dict[str, float]]:
    """Per C scan and per warm collect() of each checkout and source: the counts of
    COUNTED (a run of many less a run of few, so start-up cancels out)."""
    def per(many: dict[str, int], few: dict[str, int], n: int) -> dict[str, float]:
        return {k: (many[k] - few.get(k, 0)) / n for k in many}

    res = {"C": per(perf_counts(vm, ["/tmp/cscan", "5"]), perf_counts(vm, ["/tmp/cscan", "1"]), 4)}
    for tree in trees:
        for source in sources:
            run = [vm.python, "-c", PY_REFRESHES]  # -c: dmabuf_top of the cwd
            many = perf_counts(vm, [*run, "3", source], cwd=str(tree))
            few = perf_counts(vm, [*run, "0", source], cwd=str(tree))
            res[f"{'this' if tree == REPO else tree.name} {source}"] = per(many, few, 3)
    return res


def print_counts(counts: dict[str, dict[str, float]]) -> None:
    print("per scan (C) and per warm collect(), debugfs mounted (perf stat in the guest):")
    kinds = list(next(iter(counts.values())))
    print(f"  {'':>20} " + " ".join(f"{k.replace('raw_syscalls:sys_enter', 'syscalls'):>11}"
                                    for k in kinds))
    for name, c in counts.items():
        print(f"  {name[:20]:>20} " + " ".join(f"{c[k]:11.0f}" for k in kinds))


def report(rows: dict[str, dict], trees: list[Path], args: argparse.Namespace,
           linkage: str) -> None:
    med = statistics.median
    sources = args.sources.split(",")
    for debugfs, res in rows.items():
        c = res["C"]
        c_times = [float(x["median_s"]) for x in c]
        cf_times = [float(x["median_s"]) for x in res["C_facts"]]
        last, lastf = c[-1], res["C_facts"][-1]
        print(f"debugfs {debugfs} ({len(c_times)} turns of C then each process; ratios: "
              "the median of each turn's time over that turn's C [their range; the best "
              "time over C's best]):")
        print(
            f"  C floor ({linkage}): {med(c_times) * 1000:8.1f} ms  "
            f"({last['dmabuf_fds']} dma-buf fds, {last['map_lines']} dma-buf maps lines, "
            f"{last['holders']} holders, {last['procs']} pids, {last['bufinfo_bytes']} bytes "
            "of bufinfo)"
        )
        print(
            f"  C floor reading the walk's facts (cscan facts): {med(cf_times) * 1000:8.1f} ms  "
            f"(the holders' stat, cmdline, owner and cgroup for their comm, and the stat of "
            f"{lastf['ancestors']} ancestors)"
        )
        runs = iter(res["runs"])
        for tree in trees:
            name = "this" if tree == REPO else tree.name
            for source in sources:
                r = next(runs)
                cells = []
                for what in ("fetch", "collect"):
                    ratios = [t / ct for t, ct in zip(r[what], c_times, strict=True)]
                    best = min(r[what]) / min(c_times)
                    facts = med(t / ct for t, ct in zip(r[what], cf_times, strict=True))
                    cells.append(f"{what}(): {med(r[what]) * 1000:8.1f} ms = {med(ratios):4.2f}x C "
                                 f"[{min(ratios):.2f}-{max(ratios):.2f}, best/best {best:.2f}]"
                                 f" = {facts:4.2f}x C facts")
                print(f"  {name[:12]:>12} {source:>8} " + "   ".join(cells) +
                      f"   ({r['buffers']} buffers, {r['processes']} processes, sources "
                      f"{r['sources']})")
                for w in r["warnings"]:
                    print(f"       warning: {w}")


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
