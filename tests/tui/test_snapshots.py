"""SVG snapshots of every view and pane, at a fixed size and theme, on the
snapshot dmabuf-top recorded in the real-kernel 6.1 VM (tests/data/vm-6.1).

Everything on screen comes from that file (host, kernel, time), so the
pictures are the same on every machine. Update after an intended change with
``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the diff.
"""

from __future__ import annotations

import pytest

from dmabuf_top.model import Snapshot, Source
from dmabuf_top.tui.app import DmabufTopApp
from tests.support.pilot import SIZE, THEME, ScriptedBackend, file_backend, settle


def vm_app(theme: str = THEME, path=None) -> DmabufTopApp:
    backend = file_backend(path) if path else file_backend()
    return DmabufTopApp(backend, theme=theme)


async def _ready(pilot) -> None:
    await settle(pilot)


@pytest.mark.parametrize(
    "name,keys",
    [
        ("buffers", []),
        ("processes", ["2"]),
        ("exporters", ["3"]),
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
        name = next(k for k in table.keys() if "[bold]" in str(table.get_cell(k, "name")))
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
    )
    app = DmabufTopApp(ScriptedBackend([snap]), delay=3600, theme=THEME)
    assert snap_compare(app, terminal_size=SIZE, run_before=_ready)
