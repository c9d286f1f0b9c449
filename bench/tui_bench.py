#!/usr/bin/env python3
"""Benchmark the TUI at scale: 10,000 buffers held by 2,000 processes.

Not a test: prints numbers. It builds a synthetic Snapshot with the model
classes, opens the app headless (``App.run_test``) at a fixed size, then:

- refresh: feeds changed snapshots (about 1% of rows change, some buffers
  appear, some vanish) and measures the time the UI thread spends applying
  one (the diff into the table) and until the screen has been repainted;
- keys: main-thread CPU time from a key press until the screen is repainted
  (Pilot waits for idle, so wall time would mostly be its polling), for a
  sort key, a second press (reverse), a cursor move, a page down, a view
  switch, the filter and the drill-down pane; and the wall time for a cursor
  move to take effect while a scan is being prepared in its thread.

    python bench/tui_bench.py [--buffers 10000] [--procs 2000] [--refreshes 10]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dmabuf_top.model import Buffer, Holder, MapRange, Process, Snapshot, Source  # noqa: E402


def build(n_buffers: int, n_procs: int, seed: int = 1) -> Snapshot:
    rnd = random.Random(seed)
    procs = {
        1000 + i: Process(1000 + i, f"proc{i % 97}", f"/usr/bin/proc{i % 97} --id {i}", 1000)
        for i in range(n_procs)
    }
    pids = list(procs)
    bufs: dict[int, Buffer] = {}
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


def mutate(prev: Snapshot, step: int, rnd: random.Random) -> Snapshot:
    """~1% of buffers change (holders come and go), 0.5% vanish, 0.5% appear."""
    n = len(prev.buffers)
    bufs = dict(prev.buffers)
    keys = list(bufs)
    for inode in rnd.sample(keys, n // 100):  # change: one more holder or one fewer
        b = bufs[inode]
        pids = list(prev.processes)
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
    pids = list(prev.processes)
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

    def __init__(self, snaps: list[Snapshot]) -> None:
        self.snaps = snaps
        self.i = -1

    def collect(self) -> Snapshot:
        self.i = min(self.i + 1, len(self.snaps) - 1)
        return self.snaps[self.i]

    def describe(self) -> str:
        return "bench"


async def settle(app, pilot) -> None:
    """Until no scan is in flight and the screen is idle."""
    while app._collecting or app.prepared is None:
        await asyncio.sleep(0.005)
    await app.workers.wait_for_complete()
    await pilot.pause()


def ms(xs: list[float]) -> str:
    if not xs:
        return "-"
    return (
        f"median {1000 * statistics.median(xs):6.1f} ms   max {1000 * max(xs):6.1f} ms"
        f"   (n={len(xs)})"
    )


async def run(n_buffers: int, n_procs: int, refreshes: int) -> None:
    from textual import events

    from dmabuf_top.tui.app import DmabufTopApp

    t0 = time.perf_counter()
    base = build(n_buffers, n_procs)
    rnd = random.Random(7)
    snaps = [base]
    for step in range(1, refreshes + 1):
        snaps.append(mutate(snaps[-1], step, rnd))
    print(f"built {len(snaps)} snapshots of ~{n_buffers} buffers / {n_procs} processes "
          f"in {time.perf_counter() - t0:.1f}s")

    app = DmabufTopApp(ListBackend(snaps), delay=3600)
    async with app.run_test(size=(200, 50)) as pilot:
        t = time.perf_counter()
        await settle(app, pilot)
        first = time.perf_counter() - t
        table = app.screen.table()
        print(f"first load (scan + prepare + fill {table.row_count} rows): {1000 * first:.0f} ms")

        apply_times: list[float] = []
        screen = app.screen
        show = screen.data_changed

        def timed_show() -> None:  # the UI thread's part of a refresh
            t = time.perf_counter()
            show()
            apply_times.append(time.perf_counter() - t)

        screen.data_changed = timed_show
        end_to_end: list[float] = []
        changed: list[tuple[int, int, int]] = []
        for _ in range(refreshes):
            t = time.perf_counter()
            app.start_collect()
            await settle(app, pilot)
            end_to_end.append(time.perf_counter() - t)
            changed.append(table.last_sync)
        upd, add, rem = (statistics.mean(x[i] for x in changed) for i in range(3))
        print(f"per refresh: {upd:.0f} cells updated, {add:.0f} rows added, {rem:.0f} removed")
        print(f"UI update per refresh (UI thread, diff into table): {ms(apply_times)}")
        print(f"refresh end to end (worker scan+prepare, UI update, repaint): {ms(end_to_end)}")

        async def key_latency(keys: list[str], repeat: int) -> list[float]:
            out = []
            for _ in range(repeat):
                for k in keys:
                    t = time.thread_time()
                    await pilot.press(k)
                    await pilot.pause()
                    out.append(time.thread_time() - t)
            return out

        print(f"key 's' (sort by size / reverse):   {ms(await key_latency(['s'], 6))}")
        print(f"key 'n' (sort by name / reverse):   {ms(await key_latency(['n'], 6))}")
        print(f"key down (cursor move):             {ms(await key_latency(['down'], 20))}")
        print(f"key pagedown:                       {ms(await key_latency(['pagedown'], 10))}")
        print(f"key 2 / 1 (switch view):            {ms(await key_latency(['2', '1'], 3))}")
        print(f"key / + 'buf-1' + Esc (filter):     "
              f"{ms(await key_latency(['slash', 'b', 'u', 'f', '-', '1', 'escape'], 1))}")
        drill = await key_latency(["enter", "escape"], 3)
        print(f"key Enter / Esc (drill-down):       {ms(drill)}")

        # a key pressed while a scan is being prepared in its thread (the GIL is
        # shared): wall time until the cursor has moved
        app.backend.i = 0  # replay the changed snapshots
        during = []
        for _ in range(5):
            table = app.screen.table()
            row = table.cursor_row
            app.start_collect()
            await asyncio.sleep(0.01)
            assert app._collecting
            t = time.perf_counter()
            app.post_message(events.Key("up" if row else "down", None))
            while table.cursor_row == row:  # not pilot.press: it waits for idle
                await asyncio.sleep(0.0005)
            during.append(time.perf_counter() - t)
            await settle(app, pilot)
        print(f"key down during a refresh (wall):   {ms(during)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buffers", type=int, default=10_000)
    ap.add_argument("--procs", type=int, default=2_000)
    ap.add_argument("--refreshes", type=int, default=10)
    a = ap.parse_args()
    asyncio.run(run(a.buffers, a.procs, a.refreshes))


if __name__ == "__main__":
    main()
