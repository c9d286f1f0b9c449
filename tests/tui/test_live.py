"""The live behaviour: refreshes in a worker that never overlap, rows diffed
in place, new and freed rows marked, failures and empty machines explained."""

from __future__ import annotations

import threading
import time

from dmabuf_top.collect.contract import BackendError
from dmabuf_top.model import Buffer, Holder, KernelInfo, Process, Snapshot, Source
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.screens.detail import BufferScreen, ProcessScreen
from dmabuf_top.tui.screens.main import MainScreen
from tests.support.pilot import (
    SIZE,
    ScriptedBackend,
    evolve,
    settle,
    small_snapshot,
    wait_until,
)
from tests.support.table_readers import cell_of, cursor_row, last_sync, mark_of, row_count

T0 = "2026-11-21T10:00:00Z"
T1 = "2026-11-21T10:00:02Z"
T2 = "2026-11-21T10:00:04Z"


def _second(s: Snapshot) -> None:
    """Buffer 14 freed, 16 appears, 12 loses a holder."""
    del s.buffers[14]
    s.buffers[16] = Buffer(16, 4 << 20, "drm", "fresh", 1, holders=[Holder(301, [20])])
    s.buffers[12].holders = s.buffers[12].holders[:1]
    s.buffers[12].count = 2


def live_app(snaps) -> tuple[DmabufTopApp, ScriptedBackend]:
    backend = ScriptedBackend(snaps)
    return DmabufTopApp(backend, delay=3600), backend


async def test_rows_are_diffed_in_place_new_and_freed_marked():
    s0 = small_snapshot(T0)
    s1 = evolve(s0, T1, _second)
    s2 = evolve(s1, T2, lambda s: None)
    app, _ = live_app([s0, s1, s2])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        table = screen.table()
        assert table.keys() == ["13", "12", "14", "15"]
        await pilot.press("down")  # the cursor on 12
        assert table.cursor_key == "12"

        await pilot.press("ctrl+r")
        await settle(pilot)
        # 16 is new and highlighted; 14 is freed: still shown once, marked
        assert table.keys() == ["13", "12", "16", "14", "15"]
        assert mark_of(table, "16") == "new" and mark_of(table, "14") == "freed"
        assert mark_of(table, "12") == "" and table.cursor_key == "12"
        # not rebuilt: one row added (16), none removed (14 stays, freed), and
        # only 12's changed cells touched (refs, procs, holders, and Δ: it changed
        # since the first sample)
        assert last_sync(table) == (5, 1, 0)
        assert sorted(table.rows.changed_cells) == [
            ("12", "count"), ("12", "holder"), ("12", "holders"), ("12", "procs"),
            ("12", "since"),
        ]
        assert str(cell_of(table, "12", "since")) == "chg"
        assert str(cell_of(table, "16", "since")) == "new"
        assert str(cell_of(table, "13", "since")) == ""
        assert str(cell_of(table, "12", "holders")) == "compositor(301)"
        header = str(screen.query_one("#header-totals").render())
        assert "buffers 4" in header
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert table.keys() == ["13", "12", "16", "15"]  # 14 dropped, 16 plain now
        assert mark_of(table, "16") == "" and table.cursor_key == "12"


async def test_cursor_follows_its_buffer_when_the_order_changes():
    s0 = small_snapshot(T0)

    def grow(s: Snapshot) -> None:
        s.buffers[15].size = 1 << 30  # 15 becomes the largest
    s1 = evolve(s0, T1, grow)
    app, _ = live_app([s0, s1])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.table()
        await pilot.press("down", "down")
        assert table.cursor_key == "14"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert table.keys() == ["15", "13", "12", "14"]
        assert table.cursor_key == "14" and cursor_row(table) == 3


async def test_a_failed_refresh_keeps_the_last_good_data():
    s0 = small_snapshot(T0)
    app, _ = live_app([s0, BackendError("adb: device offline"), s0])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        status = str(app.screen.query_one("#header-status").render())
        assert "last refresh failed: adb: device offline" in status
        assert "showing the last good data" in status
        assert app.screen.table().keys() == ["13", "12", "14", "15"]
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "failed" not in str(app.screen.query_one("#header-status").render())


async def test_refreshes_never_overlap():
    """ctrl+r four times and a timer far faster than a scan, while the first scan
    hangs: still one scan at a time."""
    class Slow:
        kind, live = "local", True

        def __init__(self) -> None:
            self.active = 0
            self.most = 0
            self.calls = 0
            self.lock = threading.Lock()
            self.go = threading.Event()  # the first scan lasts until the keys are in

        def collect(self) -> Snapshot:
            with self.lock:
                self.active += 1
                self.calls += 1
                self.most = max(self.most, self.active)
            self.go.wait(30)
            with self.lock:
                self.active -= 1
            return small_snapshot(T0)

        def describe(self) -> str:
            return "slow"

    backend = Slow()
    app = DmabufTopApp(backend, delay=0.02)  # ticks far faster than a scan
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: backend.calls == 1, "the first scan to start")
        for _ in range(4):
            await pilot.press("ctrl+r")
        await pilot.pause()
        assert backend.calls == 1  # the keys and ticks started nothing beside it
        backend.go.set()
        await wait_until(pilot, lambda: backend.calls >= 3, "two more scans")
        await settle(pilot)
        assert backend.most == 1


async def test_collect_runs_off_the_ui_thread():
    seen: list[str] = []

    class Where(ScriptedBackend):
        def collect(self) -> Snapshot:
            seen.append(threading.current_thread().name)
            return super().collect()

    app = DmabufTopApp(Where([small_snapshot()]), delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
    assert seen and threading.main_thread().name not in seen


async def test_empty_machine_says_why_and_points_to_the_demo():
    snap = Snapshot(
        taken_at=T0,
        source=Source(kind="local", host="h", kernel="6.8", privilege="limited"),
        unreadable_pids=[1, 2, 3],
        warnings=[
            "3 processes unreadable: run as root",
            "[/x] odd \x1b[31m text",
            "kernel-wide sources unreadable (debugfs dma_buf/bufinfo, sysfs dmabuf stats, "
            "BPF iterator): buffers held only by the kernel are not shown",
        ],
    )
    app, _ = live_app([snap])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        empty = app.screen.query_one("#empty")
        text = str(empty.render())
        assert empty.display
        assert "No dma-bufs visible." in text
        assert "run as root" in text and "kernel-wide sources unreadable" in text
        assert "[/x] odd \\e[31m text" in text
        assert "dmabuf-top --demo" in text
        source = str(app.screen.query_one("#header-source").render())
        assert "limited: 3 processes unreadable" in source
        status = str(app.screen.query_one("#header-status").render())
        assert "3 processes unreadable: run as root (+2 more: ? lists them)" in status
        await pilot.press("question_mark")
        text = "\n".join(str(w.render()) for w in app.screen.query("Static"))
        assert "Warnings from the last scan" in text and "BPF iterator" in text


async def test_a_kernel_without_exporters_is_explained():
    snap = Snapshot(taken_at=T0, source=Source(kind="local", host="h", kernel="6.8"),
                    kernel=KernelInfo(sources=["bufinfo"], total_bytes=0))
    app, _ = live_app([snap])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = str(app.screen.query_one("#empty").render())
        assert "lists no dma-buf at all" in text and "--demo" in text


async def test_the_buffer_pane_is_live_and_shows_history():
    s0 = small_snapshot(T0)
    s1 = evolve(s0, T1, _second)
    s2 = evolve(s1, T2, lambda s: s.buffers.pop(12))
    app, _ = live_app([s0, s1, s2])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BufferScreen) and screen.inode == 12
        assert screen.query_one("#holders").keys() == ["301:0", "412:0"]
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert screen.query_one("#holders").keys() == ["301:0"]
        fields = str(screen.query_one("#buffer-fields").render())
        assert f"first seen    {T0}" in fields and f"last changed  {T1}" in fields
        assert app.session.buffer_life(12).holders == [2, 1]
        assert "holders over time: 1 … 2" in str(screen.query_one("#holders-label").render())
        await pilot.press("ctrl+r")  # 12 is freed: the pane says so, keeps what it knew
        await settle(pilot)
        title = str(screen.query_one("#detail-title").render())
        assert "FREED" in title and "scanout 0" in title
        assert f"gone at {T2}" in str(screen.query_one("#buffer-fields").render())


async def test_header_graph_tracks_total_bytes_with_a_scale_and_a_time_axis():
    s0 = small_snapshot(T0)
    s1 = evolve(s0, T1, lambda s: setattr(s.kernel, "total_bytes", 100 << 20))
    app, _ = live_app([s0, s1])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        graph = app.screen.query_one("#header-graph")
        assert graph.series.values == [75 << 20]  # one sample: no trend, nothing drawn
        assert "75.0M" not in str(graph.render())
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert graph.series.values == [75 << 20, 100 << 20]
        drawn = str(graph.render())
        # the byte scale and the clock times of the first and last sample
        assert "75.0M" in drawn and "100.0M" in drawn
        assert T0[11:19] in drawn and T1[11:19] in drawn


async def test_enter_on_a_freed_row_shows_what_was_known():
    s0 = small_snapshot(T0)
    s1 = evolve(s0, T1, _second)
    app, _ = live_app([s0, s1])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        table = app.screen.table()
        table.move_cursor(row=table.keys().index("14"))
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BufferScreen) and screen.inode == 14
        assert "FREED" in str(screen.query_one("#detail-title").render())
        assert screen.query_one("#holders").keys() == ["500:0"]
        assert str(cell_of(screen.query_one("#holders"), "500:0", "comm")) == "camera"


async def test_quit_does_not_wait_for_a_scan_in_flight():
    release = threading.Event()

    class Hanging(ScriptedBackend):
        def collect(self) -> Snapshot:
            if self.calls >= 1:
                release.wait(30)  # a device that stopped answering
            return super().collect()

    app = DmabufTopApp(Hanging([small_snapshot(T0)]), delay=3600)
    try:
        t0 = time.monotonic()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("ctrl+r")  # this scan hangs
            await wait_until(pilot, lambda: app.refresher.scanning, "the scan to start")
            assert row_count(app.screen.table()) == 4  # the UI still answers
            await pilot.press("down")
            assert cursor_row(app.screen.table()) == 1
            await pilot.press("q")
        assert time.monotonic() - t0 < 10
        assert app.return_code == 0
    finally:
        release.set()


async def test_header_shows_device_meminfo_totals_without_root():
    snap = small_snapshot()
    snap.source = Source(kind="adb", serial="R5CX", model="Pixel 9", android="16",
                         kernel="6.1.99", privilege="limited")  # fmt: skip
    snap.kernel = KernelInfo(
        meminfo_kb={"dmabuf": 817715, "dmabuf_mapped": 152, "heaps": 24844, "heaps_pool": 0}
    )
    app, _ = live_app([snap])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        source = str(app.screen.query_one("#header-source").render())
        assert "Pixel 9 R5CX Android 16" in source and "limited" in source
        status = str(app.screen.query_one("#header-status").render())
        assert "device (dumpsys meminfo) DMA-BUF 798.5M  mapped 152.0K" in status
        assert "heaps 24.3M  heaps pool 0B" in status


class Gated(ScriptedBackend):
    """Scan number N (from 1) waits for ``gates[N]`` when there is one;
    counts the scans started and the most running at once."""

    def __init__(self, snaps: list[Snapshot], gates: dict[int, threading.Event]) -> None:
        super().__init__(snaps)
        self.gates = gates
        self.started = self.running = self.most = 0
        self.lock = threading.Lock()

    def collect(self) -> Snapshot:
        with self.lock:
            self.started += 1
            n = self.started
            self.running += 1
            self.most = max(self.most, self.running)
        gate = self.gates.get(n)
        if gate is not None:
            gate.wait(30)
        with self.lock:
            self.running -= 1
        return super().collect()


def three_samples() -> list[Snapshot]:
    """T0; T1: 14 freed, 16 new; T2: 16 freed again."""
    first = small_snapshot(T0)
    second = evolve(first, T1, _second)
    return [first, second, evolve(second, T2, lambda s: s.buffers.pop(16))]


async def test_pause_freezes_the_screen_even_for_a_scan_in_flight():
    """A timed scan that lands after pause was pressed is not shown until
    resume; ctrl+r while paused still refreshes."""
    gate = threading.Event()
    backend = Gated(three_samples()[:2], {2: gate})
    app = DmabufTopApp(backend, delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.table()
        assert row_count(table) == 4
        app.refresher.tick()  # the refresh timer fires: this scan waits at the gate
        await wait_until(pilot, lambda: backend.started == 2, "the scan at its gate")
        await pilot.press("space")
        gate.set()
        await settle(pilot)
        assert app.refresher.paused and app.session.prepared.snap.taken_at == T0  # nothing moved
        assert "16" not in table.keys()
        await pilot.press("space")  # resume: the held scan shows at once
        await settle(pilot)
        assert app.session.prepared.snap.taken_at == T1
        assert "16" in table.keys()


async def test_refresh_while_paused_still_refreshes():
    first = small_snapshot(T0)
    app, _ = live_app([first, evolve(first, T1, _second)])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("space", "ctrl+r")
        await settle(pilot)
        assert app.refresher.paused and app.session.prepared.snap.taken_at == T1


async def test_refresh_pressed_during_a_scan_runs_one_more_after_it():
    """ctrl+r while a (timed) scan runs, paused: that scan is held, and a new
    one, started after it, is shown: what ctrl+r shows postdates the key."""
    gate = threading.Event()
    backend = Gated(three_samples(), {2: gate})
    app = DmabufTopApp(backend, delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.refresher.tick()  # a timed scan, stuck at the gate
        await wait_until(pilot, lambda: backend.started == 2, "the timed scan at its gate")
        await pilot.press("space", "ctrl+r")
        await pilot.pause()
        assert backend.started == 2  # no second scan at once: one is running
        gate.set()
        await wait_until(pilot, lambda: app.session.prepared.snap.taken_at == T2,
                         "ctrl+r's scan, after the held one, on screen")
        await settle(pilot)
        assert backend.started == 3 and app.refresher.paused
        assert app.session.prepared.snap.taken_at == T2


async def test_resume_while_a_refresh_runs_waits_for_it():
    """Paused with a held scan, ctrl+r's scan under way, resume: the held
    (older) one is dropped, nothing starts beside the running scan, and the
    newer result shows when it lands."""
    gates = [threading.Event(), threading.Event()]
    backend = Gated(three_samples(), {2: gates[0], 3: gates[1]})
    app = DmabufTopApp(backend, delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.refresher.tick()  # scan 2 (timed) waits at its gate
        await wait_until(pilot, lambda: backend.started == 2, "scan 2 at its gate")
        await pilot.press("space")
        gates[0].set()  # scan 2 lands while paused: held
        await wait_until(pilot, lambda: app.refresher.latest is not None, "scan 2, held")
        assert app.session.prepared.snap.taken_at == T0
        await pilot.press("ctrl+r")  # scan 3 waits at its gate
        await wait_until(pilot, lambda: backend.started == 3, "scan 3 at its gate")
        await pilot.press("space")  # resume while scan 3 runs
        app.refresher.tick()  # the timer fires meanwhile: must not start a scan beside it
        await pilot.pause()
        assert app.refresher.scanning and app.session.prepared.snap.taken_at == T0
        assert backend.started == 3
        gates[1].set()
        await settle(pilot)
        assert app.session.prepared.snap.taken_at == T2 and backend.most == 1


async def test_a_process_pane_does_not_follow_its_pid_to_another_process():
    """The pane of process 500 (camera): at the next refresh pid 500 is another
    process (another start time). The pane says so instead of showing the new one."""
    s0 = small_snapshot(T0)
    for pid, proc in s0.processes.items():
        proc.ppid, proc.start_time = 1, pid
    s0.ancestors = {1: Process(1, "init", ppid=0, start_time=1)}
    s1 = evolve(s0, T1, lambda s: setattr(s.processes[500], "start_time", 9999))
    app, _ = live_app([s0, s1])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_process(500)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProcessScreen)
        assert "camera" in str(screen.query_one("#detail-title").render())
        assert "parent        1 init" in str(screen.query_one("#process-fields").render())
        assert screen.query_one("#process-buffers").keys()
        await pilot.press("ctrl+r")
        await settle(pilot)
        title = str(screen.query_one("#detail-title").render())
        assert "ENDED: PID REUSED" in title and "camera" not in title
        assert screen.query_one("#process-buffers").keys() == []
