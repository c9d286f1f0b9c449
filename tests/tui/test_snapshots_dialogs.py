"""SVG snapshots of htop's screens in dmabuf-top: the process tree (t), the sort-by menu
(F6), the signal dialog (F9 / k), the setup screen (F2 / S) and help (F1), at 80x24,
120x40 and 200x50; on the snapshot recorded in the real-kernel 6.1 VM, the tree on one
made here (see test_snapshots.py for updating)."""

from __future__ import annotations

import pytest

from dmabuf_top.collect.contract import SeenProcess
from dmabuf_top.io.loader import load_files
from dmabuf_top.tui.app import DmabufTopApp
from tests.support.pilot import (
    THEME,
    VM_SNAPSHOT,
    ScriptedBackend,
    file_backend,
    keys_settled,
    steady_meter,
)

SIZES = {"80x24": (80, 24), "120x40": (120, 40), "200x50": (200, 50)}


class LiveVMBackend(ScriptedBackend):
    """The VM's snapshot as a live source that can signal (never does here)."""

    def __init__(self) -> None:
        super().__init__([load_files([VM_SNAPSHOT])[0][0]])

    def send_signal(self, seen: SeenProcess, signum: int) -> None:
        raise AssertionError("a snapshot test sends no signal")


@pytest.mark.parametrize("size", SIZES)
def test_sort_menu(snap_compare, size):
    app = DmabufTopApp(file_backend(), theme=THEME)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=keys_settled("2", "f6"))


@pytest.mark.parametrize("size", SIZES)
def test_signal_dialog(snap_compare, size):
    """The process with the most dma-buf bytes (the Processes view's first row)."""
    app = DmabufTopApp(LiveVMBackend(), delay=3600, theme=THEME)
    app.session.meter = steady_meter()  # the header's cost reads the same every run
    assert snap_compare(app, terminal_size=SIZES[size], run_before=keys_settled("2", "k"))


@pytest.mark.parametrize("size", SIZES)
def test_setup_screen(snap_compare, size):
    app = DmabufTopApp(file_backend(), theme=THEME)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=keys_settled("f2"))


@pytest.mark.parametrize("size", SIZES)
def test_help_sizes(snap_compare, size):
    """Long lines wrap under their own text, not under the keys."""
    app = DmabufTopApp(file_backend(), theme=THEME)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=keys_settled("f1"))


def tree_snapshot():
    """A machine's holders and the ancestors that hold nothing (the VM recordings
    predate ppid): init -> systemd --user -> compositor -> Xwayland, browser -> its GPU
    process; init -> camera service; a holder whose parent is unknown."""
    from dmabuf_top.model import Buffer, Holder, KernelInfo, Process, Snapshot, Source

    procs = {
        1201: Process(1201, "compositor", "/usr/bin/compositor --drm-device /dev/dri/card0",
                      1000, ppid=1100),
        1250: Process(1250, "Xwayland", "/usr/bin/Xwayland :0 -rootless", 1000, ppid=1201),
        1320: Process(1320, "browser-gpu", "/opt/browser/browser --type=gpu-process", 1000,
                      ppid=1300),
        640: Process(640, "camera-hal", "/vendor/bin/camera-hal --sensor imx363", 1047, ppid=1),
        2001: Process(2001, "decoder", "/usr/bin/video-decoder --codec av1", 1000),
    }
    ancestors = {
        1: Process(1, "init", ppid=0),
        1100: Process(1100, "systemd", ppid=1),
        1300: Process(1300, "browser", ppid=1100),
    }
    sizes = {1201: 33 << 20, 1250: 8 << 20, 1320: 96 << 20, 640: 24 << 20, 2001: 48 << 20}
    bufs = {}
    for i, (pid, size) in enumerate(sizes.items()):
        bufs[100 + i] = Buffer(100 + i, size, "drm" if pid != 640 else "system", f"buf {i}",
                               1, holders=[Holder(pid, [5])], sources=["fdinfo"])
    bufs[200] = Buffer(200, 8 << 20, "drm", "scanout", 2,
                       holders=[Holder(1201, [9]), Holder(1250, [4])], sources=["fdinfo"])
    return Snapshot(
        taken_at="2026-11-21T10:00:00Z",
        source=Source(kind="local", host="laptop", kernel="6.18.0"),
        boot_id="b", buffers=bufs, processes=procs, ancestors=ancestors,
        kernel=KernelInfo(sources=["bufinfo"], total_bytes=sum(b.size for b in bufs.values())),
    )


@pytest.mark.parametrize("size", SIZES)
def test_process_tree(snap_compare, size):
    app = DmabufTopApp(ScriptedBackend([tree_snapshot()]), delay=3600, theme=THEME)
    app.session.meter = steady_meter()  # the header's cost reads the same every run
    assert snap_compare(app, terminal_size=SIZES[size], run_before=keys_settled("t"))
