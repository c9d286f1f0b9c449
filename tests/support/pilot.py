"""Helpers for the TUI tests: small snapshots, scripted backends, app runners."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from textual.command import CommandList

from dmabuf_top.collect.file import FileBackend
from dmabuf_top.collect.selfstats import CostMeter, ToolUsage
from dmabuf_top.io.loader import load_files
from dmabuf_top.model import Buffer, Holder, KernelInfo, MapRange, Process, Snapshot, Source
from tests.support.paths import DATA

#: the snapshot dmabuf-top itself wrote of scenario.py in the real-kernel 6.1 VM
#: (tests/support/vm/capture.py)
VM_SNAPSHOT = DATA / "vm-6.1" / "snapshot.yaml"
#: a recording made in the VM (several samples, a leaking process)
VM_RECORDING = DATA / "vm-6.1-leak.yaml"
SIZE = (140, 40)
THEME = "dmabuf-dark"

MARKUP_NAME = "[/x][bold]evil\x1b[31m"
#: seconds :func:`wait_until` lets a condition take: generous, the machine is shared
WAIT_TIMEOUT = 60.0


def small_snapshot(taken_at: str = "2026-11-21T10:00:00Z") -> Snapshot:
    """Four buffers across three processes: named, markup-named, shared, kernel-only."""
    procs = {
        301: Process(301, "compositor", "/usr/bin/compositor --vt 1", 0),
        412: Process(412, "[red]hog", "hog \x1b]0;pwned\x07", 1000),
        500: Process(500, "camera", "/usr/bin/camera", 1000),
    }
    m = MapRange(0x7F0000000000, 0x7F0000800000, "rw-s")
    bufs = {
        12: Buffer(12, 8 << 20, "drm", "scanout 0", 4,
                   holders=[Holder(301, [5, 9], [m]), Holder(412, [3])],
                   sources=["fdinfo", "bufinfo"], fences=["write fence:vgem 1 seq 3 signalled"],
                   attachments=["0000:03:00.0"]),
        13: Buffer(13, 64 << 20, "drm", MARKUP_NAME, 1, holders=[Holder(412, [4])],
                   sources=["fdinfo", "bufinfo"]),
        14: Buffer(14, 2 << 20, "system", None, 1, holders=[Holder(500, [7])],
                   sources=["fdinfo"], heap=True),
        15: Buffer(15, 1 << 20, "drm", None, 2, sources=["bufinfo"]),
    }
    return Snapshot(
        taken_at=taken_at,
        source=Source(kind="local", host="testhost", kernel="6.1.0-test"),
        boot_id="b",
        buffers=bufs,
        processes=procs,
        kernel=KernelInfo(sources=["bufinfo"], total_bytes=75 << 20),
    )


class ScriptedBackend:
    """A live backend that returns the snapshots it was given, in turn (the
    last one again when they run out); a snapshot may be an exception to raise."""

    kind = "local"
    live = True

    def __init__(self, snaps: list[Snapshot | Exception]) -> None:
        self.snaps = snaps
        self.calls = 0
        self.source = next((s.source for s in snaps if isinstance(s, Snapshot)), None)

    def collect(self) -> Snapshot:
        item = self.snaps[min(self.calls, len(self.snaps) - 1)]
        self.calls += 1
        if isinstance(item, Exception):
            raise item
        self.source = item.source
        return item

    def describe(self) -> str:
        """What a real backend says: the machine its snapshots come from."""
        return self.source.label() if self.source is not None else "testhost kernel 6.1.0-test"


def evolve(snap: Snapshot, taken_at: str, edit: Callable[[Snapshot], None]) -> Snapshot:
    """A copy of ``snap`` at ``taken_at`` changed by ``edit``."""
    import copy

    new = copy.deepcopy(snap)
    new.taken_at = taken_at
    edit(new)
    return new


def file_backend(path: Path = VM_SNAPSHOT) -> FileBackend:
    return FileBackend(load_files([path]))


async def settle(pilot) -> None:
    """Wait until the scan in flight (if any) is applied and the screen idle."""
    app = pilot.app
    await wait_until(pilot, lambda: not app.refresher.scanning, "the scan in flight to land")
    await pilot.pause()
    await wait_until(pilot, lambda: not app.refresher.scanning, "the next scan to land")
    await refreshed(pilot)


async def refreshed(pilot, rounds: int = 2, timeout: float = WAIT_TIMEOUT) -> None:
    """Until the screen has been refreshed after everything queued now, ``rounds`` times
    (what the first refresh queues is handled by the second): Textual's public
    ``wait_for_refresh``, an after-refresh callback, in place of Pilot's guess that the
    app is idle when the process used little CPU for 20 ms, which a CPU-starved process
    fakes on a loaded machine."""
    app = pilot.app
    for _ in range(rounds):
        if not app.is_running or not app.screen_stack:
            return
        try:
            await asyncio.wait_for(app.screen.wait_for_refresh(), timeout)
        except TimeoutError:
            raise AssertionError(f"waited {timeout:g}s for the screen to refresh") from None


def keys_settled(*keys: str) -> Callable[[object], Awaitable[None]]:
    """A ``snap_compare`` ``run_before``: settle, then each key pressed and settled
    (``press=`` would shoot once the app merely looks idle, which a loaded machine fakes)."""

    async def run(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run


async def wait_until(pilot, condition: Callable[[], object], what: str,
                     timeout: float = WAIT_TIMEOUT) -> None:
    """Let the app run (``await pilot.pause()``: its messages, timers, refreshes)
    until ``condition()`` is true; after ``timeout`` seconds an AssertionError says
    what was awaited. Tests wait on this, never on the clock."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g}s for {what}; it never came")
        await pilot.pause()


def palette_offers(app, text: str) -> bool:
    """Whether the command palette's list shows, highlighted, a command with ``text``
    (the search of what was typed has come back)."""
    lists = app.screen.query(CommandList)
    if not lists:
        return False
    menu = lists.first()
    return menu.highlighted is not None and text in str(
        menu.get_option_at_index(menu.highlighted).prompt).lower()


def steady_meter() -> CostMeter:
    """A cost meter that always reads the same: no CPU spent, 48 MiB resident (SVG
    snapshots of a live source stay the same from run to run)."""
    clock = itertools.count(0.0, 2.0)
    usage = ToolUsage(cpu_user=2.0, cpu_system=0.5, rss=48 << 20, host_memory=8 << 30)
    return CostMeter(usage=lambda: usage, clock=lambda: next(clock))


@asynccontextmanager
async def demo_at(size: tuple[int, int], *keys: str) -> AsyncIterator[tuple]:
    """The app on the demo recording (``--demo``) at ``size``, settled, then ``keys``
    pressed (each one settled): ``(app, pilot)``."""
    from dmabuf_top.cli.options import DEMO_RECORDING
    from dmabuf_top.tui.app import DmabufTopApp

    app = DmabufTopApp(file_backend(DEMO_RECORDING), delay=3600)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        yield app, pilot
