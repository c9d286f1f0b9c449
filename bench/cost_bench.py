#!/usr/bin/env python3
"""What dmabuf-top itself costs per refresh: the live app, headless, N refreshes per
source, each source in its own process; prints CPU seconds per refresh (the whole
process: scan, accounting, rows, rendering; and its children: the local backend's native
walk) and peak RSS.

    python bench/cost_bench.py [--refreshes 30] [--sources synthetic,churn,file,local,adb]
                               [--against OTHER_CHECKOUT ...]

``--against``: the same sources measured with another checkout's code too (its
``dmabuf_top`` imported in the child process, this script's measuring code and
scenes), one after the other in the same run: before and after a change
(``git worktree add --detach ../base main``).

The scene: 200 processes x 20 dma-buf fds (a quarter of the buffers also mapped),
plus 100 processes x 150 plain fds. Sources:

- synthetic: the 200x20 scene as kernel text (fdinfo, maps, bufinfo; written with
  tests/support/rawscans.py), fetched anew (copied) and assembled every refresh: the
  host's whole cost of a 4,000-buffer device, without the device;
- churn: the same, with 1% of the buffers freed and as many new ones made by their
  holders every refresh (fdinfo, maps and bufinfo change);
- file: a recording of that scene's snapshots (tests/support/synth.py), one
  sample further per refresh (``]``);
- local: this machine (LocalBackend), with the 100 x 150 plain fds held by real
  processes (this machine has no dma-buf: the walk over every fd is what costs);
- adb: the same through a real adb server (Debian's adb) and tests/support/adbpeer.py
  here, deltas on; also the collector's CPU time on the "device" (this machine).

Not a test: a script that prints numbers.

Measured (--refreshes 20 --against a checkout of main e1cf7cc, 2 cores shared with other
jobs, load ~4-5; CPU s per refresh, of which collect = fetch + assemble and rows = the scan
thread's rest, the UI thread the remainder; pilot = Pilot's own press and wait, app = the
CPU less it):

    source     checkout  CPU s/refresh  x this  collect   rows  pilot    app  peak RSS
    synthetic  this              0.033   1.00x    0.005  0.005  0.007  0.026    85.9Mi
    synthetic  main              0.062   1.85x    0.016  0.017  0.009  0.053    85.9Mi
    churn      this              0.102   1.00x    0.044  0.022  0.008  0.094    89.6Mi
    churn      main              0.122   1.20x    0.062  0.024  0.011  0.112    91.4Mi
    file       this              0.009   1.00x        -      -  0.008  0.001    64.7Mi
    file       main              0.009   0.96x        -      -  0.007  0.001    64.9Mi

The goal, 0.04 s for the synthetic scene (2% of a core at a 2 s refresh), holds: 0.033 and
0.034 s in two runs at load 4-5 (main beside it 0.062 and 0.046 s). The stand-in fetch
was a deep copy until session 11: with it (main's script), main 0.063 s and this 0.043 s in
one run, the deep copy about 7 ms of main's collect. What this session changed: the
Assembler held the buffers again at every refresh of a scan without BPF records (6 ms);
process_stats, the totals, the samples, the history and the Buffers rows now look only at
the buffers that are not the very objects of the refresh before (accounting.ProcessSums,
changed_buffers); find_suspects passes over keys that did not end higher. Where the
synthetic scene's CPU goes now (``--profile``): the scan thread, ~12 ms a refresh under
cProfile: the fetch's decoding, the per-process text keys
(proc_records.py), live_rows.prepare; the UI thread's is Textual's compositor (the
graph's plotext build, ~4 ms, a new picture at each refresh since its time axis moves;
the table's lines, ~3.5 ms: every age in sight moves on at each refresh, so every row in
sight is painted again, as htop's TIME+ is), Strip making and message dispatch.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: the checkout whose dmabuf_top is measured (--against: the child gets another)
TREE = Path(os.environ.get(TREE_VAR := "DMABUF_TOP_COST_TREE") or REPO)
sys.path.insert(0, str(TREE))

from dmabuf_top.collect.rawscan import ProcText, RawScan  # noqa: E402
from dmabuf_top.model import Snapshot  # noqa: E402


def _this_checkouts(module: str, path: str):  # noqa: ANN202 - a module
    """A helper module of this checkout, whichever checkout's dmabuf_top is measured."""
    spec = importlib.util.spec_from_file_location(module, REPO / path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


scale_scene = _this_checkouts("cost_bench_rawscans", "tests/support/rawscans.py").scale_scene

PROCS, BUFS = 200, 20
PLAIN_PROCS, PLAIN_FDS = 100, 150
HOLD_FDS = (
    "import os, sys\n"
    "fds = [os.open('/dev/null', os.O_RDONLY) for _ in range(int(sys.argv[1]))]\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n"
)


def scene_text() -> RawScan:
    """The 200 x 20 scene as the kernel shows it."""
    return scale_scene(PROCS, BUFS)


#: buffers freed and made anew per refresh by the churn source (1%)
CHURN = PROCS * BUFS // 100


def _text(b: bytes) -> str:
    """A file's bytes as the backends decode them (proc_facts.read_record, adb_stream)."""
    return b.decode("utf-8", "backslashreplace")


class SyntheticScan:
    """A live source whose fetch gives the scene's kernel text every refresh as a real
    fetch does: each file's bytes decoded into a new str, in new containers
    (``churn``: 1% of the buffers replaced first, on the "kernel" side).

    The "kernel" holds the scene as bytes: each process's fdinfo files and ``/dmabuf``
    maps lines, comm and cmdline, and bufinfo's records. A fetch decodes each file, as
    the local backend's reads (``read_record``, ``dmabuf_map_lines``) and the adb
    stream's decoder do, so the app pays for new str objects and the comparisons of
    texts that are equal but not the same object, as it does for a real device. (Until
    session 11 the fetch was a ``copy.deepcopy`` of the scene's RawScan: Python's
    recursive copy of ~16,000 containers, which no backend does, and the very same
    str objects each time, which no backend gives.)"""

    kind, live = "local", True

    def __init__(self, churn: bool = False) -> None:
        raw = scene_text()
        self.churn = churn
        self.n = 0
        self.next_inode = 10**6
        #: the "kernel": per process (pid, uid, comm, cmdline, {fd: fdinfo}, [maps line])
        self.procs = [
            (p.pid, p.uid, (p.comm or "").encode(), (p.cmdline or "").encode(),
             {fd: t.encode() for fd, t in p.fdinfo.items()}, [ln.encode() for ln in p.maps])
            for p in raw.procs
        ]  # fmt: skip
        assert raw.bufinfo is not None
        head, *records = raw.bufinfo.encode().split(b"\n\n")
        self.bufinfo = [head, *records]  # joined by b"\n\n" when read
        #: inode -> where its record is in ``bufinfo``
        self.record_at = {
            int(f[5]): i for i, r in enumerate(self.bufinfo) for line in r.split(b"\n")
            if len(f := line.split(b"\t")) > 6 and f[0].isdigit()
        }
        self.dmabuf_dev = raw.dmabuf_dev
        try:  # the checkout measured may predate the incremental Assembler
            from dmabuf_top.collect.assemble import Assembler

            self._assemble = Assembler()
        except ImportError:
            from dmabuf_top.collect.assemble import assemble

            self._assemble = assemble

    def _replace_buffers(self) -> None:
        """CHURN holders each free one buffer (fd 10 + n % BUFS) and make a new one."""
        for j in range(CHURN):
            _pid, _uid, _comm, _cmd, fdinfo, maps = self.procs[
                (self.n * CHURN + j) % len(self.procs)]
            fd = 10 + self.n % BUFS
            text = fdinfo[fd]
            old = text.split(b"ino:\t", 1)[1].split(b"\n", 1)[0]
            new = str(self.next_inode).encode()
            self.next_inode += 1
            fdinfo[fd] = text.replace(b"ino:\t" + old + b"\n", b"ino:\t" + new + b"\n")
            maps[:] = [ln.replace(b" " + old + b"     ", b" " + new + b"     ") for ln in maps]
            at = self.record_at.pop(int(old))
            self.bufinfo[at] = self.bufinfo[at].replace(
                b"\t%08d\t" % int(old), b"\t%08d\t" % int(new))
            self.record_at[int(new)] = at

    def fetch(self) -> RawScan:
        """What a backend's fetch gives: every text decoded anew, new containers."""
        return RawScan(
            taken_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1.8e9 + 2 * self.n)),
            kind="local", host="synthetic", kernel="6.6.50", dmabuf_dev=self.dmabuf_dev,
            procs=[
                ProcText(pid=pid, uid=uid, comm=_text(comm), cmdline=_text(cmdline),
                         fdinfo={fd: _text(b) for fd, b in fdinfo.items()},
                         maps=[_text(ln) for ln in maps])
                for pid, uid, comm, cmdline, fdinfo, maps in self.procs
            ],
            bufinfo=_text(b"\n\n".join(self.bufinfo)),
        )  # fmt: skip

    def collect(self) -> Snapshot:
        self.n += 1
        if self.churn:
            self._replace_buffers()
        raw = self.fetch()
        t0 = time.perf_counter()
        snap = self._assemble(raw)
        snap.scan_seconds = round(time.perf_counter() - t0, 4)
        return snap

    def describe(self) -> str:
        return "synthetic 200x20"


def recording(path: Path, samples: int) -> None:
    from dmabuf_top.io.record_writer import RecordingWriter
    from tests.support.synth import buf, snap

    bufs = [
        buf(1000 + p * BUFS + k, (1 << 20) * (1 + k % 8), f"gralloc {k}",
            holders={2000 + p: [10 + k]}, maps={2000 + p: 1} if k % 4 == 0 else None)
        for p in range(PROCS) for k in range(BUFS)
    ]  # fmt: skip
    comms = {2000 + p: f"app{p}" for p in range(PROCS)}
    with RecordingWriter(path, interval=2.0) as w:
        for i in range(samples):
            w.add(snap(bufs, comms, t=2.0 * i))


def backend_for(source: str, arg: str):  # noqa: ANN201 - any Backend
    if source in ("synthetic", "churn"):
        return SyntheticScan(churn=source == "churn")
    if source == "file":
        from dmabuf_top.collect.file import FileBackend
        from dmabuf_top.io.loader import load_files

        return FileBackend(load_files([arg]))
    if source == "local":
        from dmabuf_top.collect.local import LocalBackend

        return LocalBackend()
    from dmabuf_top.collect.adb import open_adb_backend

    port, serial = arg.split(",")
    return open_adb_backend(serial=serial, port=int(port))


def cpu_seconds() -> float:
    """User and system CPU of this process and of its children waited for (the native
    walk the local backend runs at each refresh is the app's cost too)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


async def drive(source: str, arg: str, refreshes: int, profile: int = 0) -> dict:
    """The app headless: one warm-up refresh, then `refreshes` more (ctrl+r; a file:
    the next sample). ``profile``: cProfile both threads over the refreshes and print
    the ``profile`` functions with the most own time to stderr."""
    from dmabuf_top.tui.app import DmabufTopApp
    from tests.support.pilot import settle

    backend = backend_for(source, arg)
    app = DmabufTopApp(backend, delay=3600)
    spent = {"collect": 0.0, "prepare": 0.0}
    timed(backend, "collect", spent, "collect")
    timed(app.session, "prepare", spent, "prepare")  # the scan thread's whole part
    key = "right_square_bracket" if source == "file" else "ctrl+r"
    device = []
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        profiler = Profiler() if profile else None
        c0, t0 = cpu_seconds(), time.perf_counter()
        spent.update(collect=0.0, prepare=0.0)
        for _ in range(refreshes):
            await pilot.press(key)
            await settle(pilot)
            prep = app.session.prepared
            if prep is not None and prep.snap.collector_cpu_seconds is not None:
                device.append(prep.snap.collector_cpu_seconds)
        c1, wall = cpu_seconds(), time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        if profiler is not None:
            profiler.report(profile, refreshes)
        for _ in range(refreshes):  # Pilot's own: the same press and wait, a key bound
            await pilot.press(UNBOUND)  # to nothing (no refresh)
            await settle(pilot)
        c2 = cpu_seconds()
        prep = app.session.prepared
        assert prep is not None
        buffers = len(prep.snap.buffers)
    cpu, pilot_cpu = c1 - c0, c2 - c1
    return {
        "cpu_per_refresh": cpu / refreshes,
        "pilot_cpu": pilot_cpu / refreshes,
        "wall_per_refresh": wall / refreshes,
        "peak_rss": r1.ru_maxrss * 1024,
        "buffers": buffers,
        "device_cpu": sum(device) / len(device) if device else None,
        "collect_cpu": spent["collect"] / refreshes,
        "rows_cpu": (spent["prepare"] - spent["collect"]) / refreshes,
    }


class Profiler:
    """cProfile on the UI thread and in every thread started from now on (the scans)."""

    def __init__(self) -> None:
        import cProfile
        import threading

        self.profiles = [cProfile.Profile()]
        self.profiles[0].enable()
        self._threading = threading

        def each_thread(*_args: object) -> None:  # the first event of a new thread
            sys.setprofile(None)
            prof = cProfile.Profile()
            self.profiles.append(prof)
            prof.enable()

        threading.setprofile(each_thread)

    def report(self, top: int, refreshes: int) -> None:
        import io
        import pstats

        self._threading.setprofile(None)
        for prof in self.profiles:
            prof.disable()
        ui, scans = self.profiles[0], self.profiles[1:]
        for title, profs in (("the UI thread", [ui]), ("the scan threads", scans)):
            if not profs:
                continue
            out = io.StringIO()
            stats = pstats.Stats(*profs, stream=out)
            stats.sort_stats("tottime").print_stats(top)
            print(f"cProfile of {title} over {refreshes} refreshes, by own time:",
                  file=sys.stderr)
            print(out.getvalue(), file=sys.stderr)


#: a key no screen binds: Pilot's press-and-settle without a refresh
UNBOUND = "f12"


def timed(obj: object, method: str, spent: dict[str, float], key: str) -> None:
    """Count the thread CPU time of every call of ``obj.method`` in ``spent[key]``."""
    call = getattr(obj, method)

    def wrapper(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        t = time.thread_time()
        try:
            return call(*args, **kw)
        finally:
            spent[key] += time.thread_time() - t

    setattr(obj, method, wrapper)


def run_one(source: str, arg: str, refreshes: int, tree: Path, profile: int = 0) -> dict:
    r = subprocess.run(
        [sys.executable, __file__, "--one", source, "--arg", arg, "--refreshes", str(refreshes),
         "--profile", str(profile)],
        capture_output=True, text=True, timeout=3600, cwd=tree,
        env=dict(os.environ, **{TREE_VAR: str(tree)}, PYTHONDONTWRITEBYTECODE="1"),
    )  # fmt: skip
    if r.returncode != 0:
        raise SystemExit(f"{source} ({tree}): {r.stderr.strip().splitlines()[-1:]}")
    if profile:
        print(f"{source} ({tree}): {r.stderr}", file=sys.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--refreshes", type=int, default=30)
    ap.add_argument("--sources", default="synthetic,churn,file,local,adb")
    ap.add_argument("--against", action="append", default=[], type=Path,
                    help="another checkout measured beside this one (repeatable)")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="print the N functions with the most own time (cProfile, both "
                         "threads) of each run")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--arg", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(drive(args.one, args.arg, args.refreshes, args.profile))))
        return 0
    sources = args.sources.split(",")
    trees = [REPO, *(p.resolve() for p in args.against)]
    holders: list[subprocess.Popen] = []
    server = peer = None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if {"local", "adb"} & set(sources):
                for _ in range(PLAIN_PROCS):
                    p = subprocess.Popen(
                        [sys.executable, "-c", HOLD_FDS, str(PLAIN_FDS)],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                    )  # fmt: skip
                    holders.append(p)
                for p in holders:
                    assert p.stdout is not None and p.stdout.readline() == "ready\n"
            for source in sources:
                arg = ""
                if source == "file":
                    arg = str(Path(tmp) / "scene.yaml")
                    recording(Path(arg), args.refreshes + 2)
                elif source == "adb":
                    from tests.support.adb_harness import AdbServer, HostPeer

                    server = AdbServer().start()
                    peer = HostPeer()
                    server.connect(peer.serial)
                    arg = f"{server.port},{peer.serial}"
                for tree in trees:
                    rows.append((source, tree, run_one(source, arg, args.refreshes, tree,
                                                       args.profile)))
                    print(f"{source} ({tree}): done", file=sys.stderr, flush=True)
        finally:
            for p in holders:
                p.kill()
                p.wait()
                for f in (p.stdin, p.stdout):
                    if f is not None:
                        f.close()
            if peer is not None:
                peer.kill()
            if server is not None:
                server.stop()
    print(f"dmabuf-top's own cost, live app headless, {args.refreshes} refreshes per source")
    print(f"scene: {PROCS} x {BUFS} dma-buf fds (synthetic, file); "
          f"{PLAIN_PROCS} x {PLAIN_FDS} plain fds held by real processes (local, adb)")  # fmt: skip
    print("CPU s/refresh: the whole process; of which collect (fetch + assemble) and rows")
    print("(accounting, history, suspects, rows: the scan thread's rest); the UI thread has "
          "the remainder, Pilot's own part included: 'pilot' is the same press and wait for")
    print("a key bound to nothing, 'app' the CPU s/refresh less it (what a terminal spends)")
    print(f"{'source':<10} {'checkout':<16} {'buffers':>7} {'CPU s/refresh':>14} "
          f"{'x this':>7} {'collect':>8} {'rows':>7} {'pilot':>6} {'app':>6} "
          f"{'wall s/refresh':>15} {'peak RSS':>10} {'device CPU s':>13}")
    mine = {source: m for source, tree, m in rows if tree == REPO}
    for source, tree, m in rows:
        dev = f"{m['device_cpu']:.3f}" if m["device_cpu"] is not None else "-"
        ratio = m["cpu_per_refresh"] / max(mine[source]["cpu_per_refresh"], 1e-9)
        name = "this" if tree == REPO else tree.name
        parts = f"{m['collect_cpu']:>8.3f} {m['rows_cpu']:>7.3f}"
        if m["collect_cpu"] == m["rows_cpu"] == 0:  # a file steps by seek: not timed apart
            parts = f"{'-':>8} {'-':>7}"
        pilot = m.get("pilot_cpu", 0.0)
        print(f"{source:<10} {name[:16]:<16} {m['buffers']:>7} {m['cpu_per_refresh']:>14.3f} "
              f"{ratio:>6.2f}x {parts} {pilot:>6.3f} {m['cpu_per_refresh'] - pilot:>6.3f} "
              f"{m['wall_per_refresh']:>15.3f} {m['peak_rss'] / 2**20:>8.1f}Mi "
              f"{dev:>13}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
