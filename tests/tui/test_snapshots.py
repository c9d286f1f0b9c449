"""SVG snapshots of every view and pane, at a fixed theme, on what dmabuf-top recorded in
the real-kernel 6.1 VM: a snapshot (tests/data/vm-6.1, a static source: no live-only
columns) and a recording (tests/data/vm-6.1-leak.yaml: GROW, Δ, AGE, ΔRSS, suspects).
Each view at 80x24, 120x40 and 200x50: every width shows who holds what; the header's
meters and graph, and the drill-downs' graphs, at each width too.

Everything on screen comes from those files (host, kernel, time), so the pictures are
the same on every machine with the versions pinned in .ci/constraints.txt. Update after
an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look
at the SVGs.
"""

from __future__ import annotations

import pytest

from dmabuf_top.collect.file import FileBackend
from dmabuf_top.io.loader import load_files
from dmabuf_top.model import Snapshot, Source
from dmabuf_top.tui.app import DmabufTopApp
from tests.support.pilot import (
    SIZE,
    THEME,
    VM_RECORDING,
    ScriptedBackend,
    file_backend,
    settle,
    steady_meter,
)
from tests.support.table_readers import cell_of

#: the widths a table must answer at: a plain terminal, a laptop, a wide screen
SIZES = {"80x24": (80, 24), "120x40": (120, 40), "200x50": (200, 50)}
VIEW_KEYS = {"buffers": [], "processes": ["2"], "exporters": ["3"], "suspects": ["4"]}


def vm_app(theme: str = THEME, path=None) -> DmabufTopApp:
    backend = file_backend(path) if path else file_backend()
    return DmabufTopApp(backend, theme=theme)


async def _ready(pilot) -> None:
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", ["buffers", "processes", "exporters"])
def test_snapshot_views(snap_compare, view, size):
    """A single snapshot: no GROW, Δ, AGE, ΔRSS, ΔBYTES (nothing to compare with)."""
    assert snap_compare(
        vm_app(), terminal_size=SIZES[size], press=VIEW_KEYS[view], run_before=_ready
    )


#: the RAM of the VM the recording was made in (recordings from before mem_total lack it)
VM_RAM = 2 << 30


def recording_with_ram() -> FileBackend:
    """The leak recording, opened at its last sample, each sample knowing the RAM."""
    samples = load_files([VM_RECORDING])
    for snap, _ in samples:
        snap.kernel.mem_total = VM_RAM
    return FileBackend(samples)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", VIEW_KEYS)
def test_recording_views(snap_compare, view, size):
    """The last sample of a recording of a leak (where a recording opens): the header's
    meters (share of RAM, userspace, exporters) and graph of the total over the 12
    samples, the live-only columns (growth in colour with ↑), and the suspects."""
    app = DmabufTopApp(recording_with_ram(), theme=THEME)
    assert snap_compare(app, terminal_size=SIZES[size], press=VIEW_KEYS[view], run_before=_ready)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("pane,keys", [("process", ["2", "enter"]), ("buffer", ["enter"])])
def test_drill_down_graphs(snap_compare, pane, keys, size):
    """The largest process (leak-grow: its Rss over the recording) and the largest buffer
    (scanout 0: its size and holder count over the recording), graphs drawn from the
    recording's own times (no clock of the machine running the test)."""
    app = DmabufTopApp(recording_with_ram(), theme=THEME)
    assert snap_compare(app, terminal_size=SIZES[size], press=keys, run_before=_ready)


@pytest.mark.parametrize(
    "name,keys",
    [
        ("buffers_sorted_by_name", ["n"]),
        ("filtered", ["slash", *"scanout", "enter"]),
    ],
)
def test_views(snap_compare, name, keys):
    assert snap_compare(vm_app(), terminal_size=SIZE, press=keys, run_before=_ready)


def test_buffer_pane(snap_compare):
    """Buffer 15 (scanout 0): held by fd and mapped by the compositor."""
    assert snap_compare(vm_app(), terminal_size=SIZE, press=["enter"], run_before=_ready)


def test_buffer_pane_kernel_only(snap_compare):
    assert snap_compare(
        vm_app(), terminal_size=SIZE, press=["down", "down", "enter"], run_before=_ready
    )


def test_buffer_pane_shared_and_markup_name(snap_compare):
    async def before(pilot) -> None:
        await settle(pilot)
        table = pilot.app.screen.table()
        name = next(k for k in table.keys() if "[bold]" in str(cell_of(table, k, "name")))
        table.move_cursor(row=table.keys().index(name))

    assert snap_compare(vm_app(), terminal_size=SIZE, press=["enter"], run_before=before)


def test_process_pane(snap_compare):
    assert snap_compare(vm_app(), terminal_size=SIZE, press=["2", "enter"], run_before=_ready)


def test_help(snap_compare):
    assert snap_compare(vm_app(), terminal_size=SIZE, press=["question_mark"], run_before=_ready)


@pytest.mark.parametrize("theme", ["dmabuf-light", "dmabuf-contrast", "dmabuf-ansi"])
def test_themes(snap_compare, theme):
    assert snap_compare(vm_app(theme), terminal_size=SIZE, run_before=_ready)


def test_empty_state(snap_compare):
    snap = Snapshot(
        taken_at="2026-11-21T10:00:00Z",
        source=Source(kind="local", host="laptop", kernel="6.8.0", privilege="limited"),
        unreadable_pids=[1, 2],
        warnings=["2 processes unreadable: run as root"],
        scan_seconds=0.12,
    )
    app = DmabufTopApp(ScriptedBackend([snap]), delay=3600, theme=THEME)
    app.session.meter = steady_meter()  # the header's cost reads the same every run
    assert snap_compare(app, terminal_size=SIZE, run_before=_ready)


@pytest.mark.parametrize("size", ["80x24", "120x40"])
def test_events_view(snap_compare, size):
    """The events view (6) of the 6.18 recording with events (tests/data/vm-6.18-events):
    newest first, the fd or device of each, the lost count; at 80 columns the exporter
    gives way."""
    from tests.support.paths import DATA

    app = DmabufTopApp(file_backend(DATA / "vm-6.18-events" / "recording.yaml"), theme=THEME)
    assert snap_compare(app, terminal_size=SIZES[size], press=["6"], run_before=_ready)
