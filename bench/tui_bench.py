#!/usr/bin/env python3
"""Benchmark the TUI at scale: 10,000 buffers held by 2,000 processes, ~1% of rows
changing per refresh; this checkout and others side by side, in one run.

Not a test: prints numbers. Each checkout runs in a child process of its own (the same
measuring code, importing ``dmabuf_top`` from that checkout), one after the other and
round after round, so the ratios compare runs made on the same machine at the same time:

    python bench/tui_bench.py [--against /path/to/other/checkout ...] [--rounds 2]
                              [--buffers 10000] [--procs 2000] [--refreshes 10]

    # before/after a change: the main branch in a second worktree
    git worktree add --detach ../dmabuf-top-base main
    python bench/tui_bench.py --against ../dmabuf-top-base

What it measures, headless (``App.run_test``) at 200x50:

- first paint: from starting the app until the table's rows are on screen (scan,
  prepare in the scan thread, the table filled and painted), and its UI part: from the
  rows prepared until they are painted;
- UI update per refresh: the UI thread's time applying one prepared refresh (the diff
  into the table), and its CPU time for the whole refresh including the repaint;
- keys: the UI thread's CPU time from a key press until the screen is repainted (Pilot
  waits for idle, so wall time would mostly be its polling): a sort, a view switch, a
  cursor move, a page down, the filter, the drill-down pane; each less Pilot's own
  cost, the median of the same press-and-wait for a key bound to nothing in the same
  app (Pilot's waits post a message to every widget of the screen and wait for them
  all: ~15-20 ms of UI-thread CPU per key here that a terminal never spends);
- the app's RSS after the refreshes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()

#: (metric, label, target in ms or None); medians of a child's samples
METRICS = [
    ("first_paint", "first paint of the table (from app start)", None),
    ("first_prepare", "  of which the scan thread's prepare", None),
    ("first_ui", "  from the rows prepared to the table painted", 300),
    ("apply", "UI update per refresh (diff into table)", 16),
    ("refresh_cpu", "UI thread CPU per refresh (+ repaint)", None),
    ("sort", "sort key (s, n: sort / reverse)", 30),
    ("switch", "view switch (2 / 1)", 50),
    ("down", "cursor down", None),
    ("pagedown", "page down", None),
    ("filter", "filter keys (/ buf-1 Esc), per key", None),
    ("drill", "drill-down (Enter / Esc)", None),
    ("tree", "process tree on / off (t, in Processes)", None),
    ("pilot", "Pilot's own cost per key (taken off the keys)", None),
    ("rss_mb", "app RSS after the refreshes (MB)", None),
]


#: the key metrics: Pilot's own cost (a key bound to nothing) is taken off each
KEY_METRICS = ("sort", "switch", "down", "pagedown", "filter", "drill", "tree")
#: a key no screen binds
UNBOUND = "f12"


def build(n_buffers: int, n_procs: int, seed: int = 1):
    from dmabuf_top.model import Buffer, Holder, MapRange, Process, Snapshot, Source

    rnd = random.Random(seed)
    procs = {
        1000 + i: Process(1000 + i, f"proc{i % 97}", f"/usr/bin/proc{i % 97} --id {i}", 1000)
        for i in range(n_procs)
    }
    pids = list(procs)
    for i, pid in enumerate(pids):  # a tree 4-5 deep: eight children each (set, not a
        procs[pid].ppid = pids[(i - 1) // 8] if i else 1  # keyword: older checkouts)
    bufs = {}
    for k in range(n_buffers):
        inode = 10 + k
        owner = pids[k % n_procs]
        holders = [Holder(owner, [3 + k // n_procs], [])]
        if k % 4 == 0:  # shared with another process, mapped
            other = pids[(k * 7 + 1) % n_procs]
            if other != owner:
                start = 0x7F0000000000 + k * 0x100000
                holders.append(Holder(other, [], [MapRange(start, start + 0x100000)]))
        holders.sort(key=lambda h: h.pid)
        bufs[inode] = Buffer(
            inode,
            size=4096 * rnd.randint(1, 2048),
            exporter=("drm", "system", "videobuf2_vmalloc")[k % 3],
            name=f"buf-{k}" if k % 2 else None,
            count=len(holders) + 1,
            holders=holders,
            sources=["fdinfo"],
        )
    return Snapshot(
        taken_at="2026-11-21T10:00:00Z",
        source=Source(kind="local", host="bench", kernel="6.1.0"),
        boot_id="bench",
        buffers=bufs,
        processes=procs,
    )


def mutate(prev, step: int, rnd: random.Random):
    """~1% of buffers change (holders come and go), 0.5% vanish, 0.5% appear."""
    from dmabuf_top.model import Buffer, Holder, Snapshot

    n = len(prev.buffers)
    bufs = dict(prev.buffers)
    keys = list(bufs)
    pids = list(prev.processes)
    for inode in rnd.sample(keys, n // 100):  # change: one more holder or one fewer
        b = bufs[inode]
        holders = list(b.holders)
        if len(holders) > 1:
            holders.pop()
        else:
            extra = rnd.choice(pids)
            if extra not in b.pids:
                holders.append(Holder(extra, [99], []))
                holders.sort(key=lambda h: h.pid)
        bufs[inode] = Buffer(
            b.inode, b.size, b.exporter, b.name, len(holders) + 1, holders=holders,
            sources=b.sources,
        )
    for inode in rnd.sample(keys, n // 200):
        del bufs[inode]
    top = max(keys)
    for j in range(n // 200):
        inode = top + 1 + j
        bufs[inode] = Buffer(
            inode, 4096 * rnd.randint(1, 512), "drm", f"new-{step}-{j}", 2,
            holders=[Holder(rnd.choice(pids), [200 + j], [])], sources=["fdinfo"],
        )
    t = 2 * step
    return Snapshot(
        taken_at=f"2026-11-21T10:{t // 60:02d}:{t % 60:02d}Z",
        source=prev.source,
        boot_id=prev.boot_id,
        buffers=bufs,
        processes=prev.processes,
    )


class ListBackend:
    kind = "local"
    live = True

    def __init__(self, snaps: list) -> None:
        self.snaps = snaps
        self.i = -1

    def collect(self):
        self.i = min(self.i + 1, len(self.snaps) - 1)
        return self.snaps[self.i]

    def describe(self) -> str:
        return "bench"


def scanning(app) -> bool:
    """A scan is in flight (the refresher's since issue 25; the session's before)."""
    refresher = getattr(app, "refresher", None)
    return refresher.scanning if refresher is not None else app.session.collecting


def start_scan(app) -> None:
    refresher = getattr(app, "refresher", None)
    refresher.request() if refresher is not None else app.start_collect()


async def settle(app, pilot) -> None:
    """Until no scan is in flight and the screen is idle."""
    while scanning(app) or app.session.prepared is None:
        await asyncio.sleep(0.002)
    await app.workers.wait_for_complete()
    await pilot.pause()


async def measure(n_buffers: int, n_procs: int, refreshes: int) -> dict[str, list[float]]:
    """One app, every measurement; seconds (RSS in MB)."""
    import psutil

    from dmabuf_top.tui.app import DmabufTopApp

    base = build(n_buffers, n_procs)
    rnd = random.Random(7)
    snaps = [base]
    for step in range(1, refreshes + 1):
        snaps.append(mutate(snaps[-1], step, rnd))
    out: dict[str, list[float]] = {}
    app = DmabufTopApp(ListBackend(snaps), delay=3600)
    prepare = app.session.prepare
    prepare_times: list[float] = []
    prepared_at: list[float] = []

    def timed_prepare(*args, **kw):  # the scan thread's part: scan, accounting, rows
        t = time.perf_counter()
        try:
            return prepare(*args, **kw)
        finally:
            prepared_at.append(time.perf_counter())
            prepare_times.append(prepared_at[-1] - t)

    app.session.prepare = timed_prepare
    t0 = time.perf_counter()
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(app, pilot)
        painted = time.perf_counter()
        out["first_paint"] = [painted - t0]
        out["first_prepare"] = list(prepare_times)
        out["first_ui"] = [painted - prepared_at[0]]
        screen = app.screen
        table = screen.table()
        assert len(table.rows.keys) >= n_buffers * 0.9, len(table.rows.keys)

        apply_times: list[float] = []
        show = screen.data_changed

        def timed_show() -> None:  # the UI thread's part of a refresh (its CPU time:
            t = time.thread_time()  # on a shared machine, wall time counts the others)
            show()
            apply_times.append(time.thread_time() - t)

        screen.data_changed = timed_show
        cpu: list[float] = []
        for _ in range(refreshes):
            t = time.thread_time()
            start_scan(app)
            await settle(app, pilot)
            cpu.append(time.thread_time() - t)
        out["apply"], out["refresh_cpu"] = apply_times, cpu
        out["rss_mb"] = [psutil.Process().memory_info().rss / 1e6]

        async def keys(names: list[str], repeat: int) -> list[float]:
            times = []
            for _ in range(repeat):
                for k in names:
                    t = time.thread_time()
                    await pilot.press(k)
                    await pilot.pause()
                    times.append(time.thread_time() - t)
            return times

        out["sort"] = await keys(["s", "n"], 4)
        out["down"] = await keys(["down"], 20)
        out["pagedown"] = await keys(["pagedown"], 10)
        out["switch"] = await keys(["2", "1"], 4)
        out["filter"] = await keys(["slash", "b", "u", "f", "-", "1", "escape"], 1)
        out["drill"] = await keys(["enter", "escape"], 3)
        await pilot.press("2")
        out["tree"] = await keys(["t"], 4)
        await pilot.press("1")
        out["pilot"] = await keys([UNBOUND], 10)  # the same wait, no work for the app
    pilot_cost = statistics.median(out["pilot"])
    for k in KEY_METRICS:
        out[k] = [t - pilot_cost for t in out[k]]
    return out


def run_child(tree: Path, a: argparse.Namespace) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, str(HERE), "--child", str(tree), "--buffers", str(a.buffers),
           "--procs", str(a.procs), "--refreshes", str(a.refreshes)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tree)
    if r.returncode != 0:
        raise SystemExit(f"{tree}: the benchmark failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", action="append", default=[], type=Path,
                    help="another checkout to measure beside this one (repeatable)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--buffers", type=int, default=10_000)
    ap.add_argument("--procs", type=int, default=2_000)
    ap.add_argument("--refreshes", type=int, default=10)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child is not None:
        sys.path.insert(0, str(a.child))
        result = asyncio.run(measure(a.buffers, a.procs, a.refreshes))
        print(json.dumps(result))
        return
    trees = [HERE.parent.parent, *(p.resolve() for p in a.against)]
    names = ["this"] + [p.name for p in a.against]
    samples: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    print(f"{a.buffers} buffers / {a.procs} processes, {a.refreshes} refreshes of ~1% "
          f"changed rows, {a.rounds} rounds, at 200x50")
    for rnd in range(a.rounds):
        for name, tree in zip(names, trees, strict=True):
            t = time.perf_counter()
            for k, v in run_child(tree, a).items():
                samples[name].setdefault(k, []).extend(v)
            print(f"  round {rnd + 1}: {name} ({tree}) {time.perf_counter() - t:.0f}s",
                  flush=True)
    w = max(len(label) for _, label, _ in METRICS)
    head = "".join(f"{n[:14]:>16}" for n in names)
    ratios = "".join(f"{'x ' + n[:12]:>16}" for n in names[1:])
    print(f"\n{'median, ms':<{w}}{head}{ratios}  target")
    for key, label, target in METRICS:
        scale = 1 if key == "rss_mb" else 1000  # seconds shown as ms
        meds = [statistics.median(samples[n][key]) * scale for n in names]
        cells = "".join(f"{m:16.1f}" for m in meds)
        rel = "".join(f"{(m / meds[0] if meds[0] else 0):16.2f}" for m in meds[1:])
        goal = f"  <= {target}" if target else ""
        print(f"{label:<{w}}{cells}{rel}{goal}")
    print("\n(x: the other checkout's median over this one's; n per metric and run:"
          f" first paint 1, refresh {a.refreshes}, keys 4-20;\n keys: less Pilot's own cost"
          " per key, measured in the same app)")


if __name__ == "__main__":
    main()
