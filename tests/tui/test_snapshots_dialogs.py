"""SVG snapshots of htop's screens in dmabuf-top: the sort-by menu (F6), the signal
dialog (F9 / k), the setup screen (F2 / S) and help (F1), at 80x24, 120x40 and 200x50, on
the snapshot recorded in the real-kernel 6.1 VM (see test_snapshots.py for updating)."""

from __future__ import annotations

import pytest

from dmabuf_top.io.loader import load_files
from dmabuf_top.tui.app import DmabufTopApp
from tests.support.pilot import THEME, VM_SNAPSHOT, ScriptedBackend, file_backend, settle

SIZES = {"80x24": (80, 24), "120x40": (120, 40), "200x50": (200, 50)}


class LiveVMBackend(ScriptedBackend):
    """The VM's snapshot as a live source that can signal (never does here)."""

    def __init__(self) -> None:
        super().__init__([load_files([VM_SNAPSHOT])[0][0]])

    def send_signal(self, pid: int, signum: int) -> None:
        raise AssertionError("a snapshot test sends no signal")


async def _ready(pilot) -> None:
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_sort_menu(snap_compare, size):
    app = DmabufTopApp(file_backend(), theme=THEME)
    assert snap_compare(app, terminal_size=SIZES[size], press=["2", "f6"], run_before=_ready)


@pytest.mark.parametrize("size", SIZES)
def test_signal_dialog(snap_compare, size):
    """The process with the most dma-buf bytes (the Processes view's first row)."""
    app = DmabufTopApp(LiveVMBackend(), delay=3600, theme=THEME)
    assert snap_compare(app, terminal_size=SIZES[size], press=["2", "k"], run_before=_ready)


@pytest.mark.parametrize("size", SIZES)
def test_setup_screen(snap_compare, size):
    app = DmabufTopApp(file_backend(), theme=THEME)
    assert snap_compare(app, terminal_size=SIZES[size], press=["f2"], run_before=_ready)


@pytest.mark.parametrize("size", SIZES)
def test_help_sizes(snap_compare, size):
    """Long lines wrap under their own text, not under the keys."""
    app = DmabufTopApp(file_backend(), theme=THEME)
    assert snap_compare(app, terminal_size=SIZES[size], press=["f1"], run_before=_ready)
