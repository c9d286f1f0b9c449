"""Pilot tests of the process pane at 80x24 on the demo (issue 25): its header stays put,
the command line is one line cut with … (whole on ``c`` and in a tooltip), the buffers
table is on screen with rows, the footer fits; an ancestor (pid 1) says what its
descendants hold and how many samples it held nothing in."""

from __future__ import annotations

from textual.widgets import Static

from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.screens.detail import ProcessScreen
from dmabuf_top.tui.table.live_table import LiveTable
from dmabuf_top.tui.widgets.key_footer import KeyFooter, shown_keys
from tests.support.pilot import demo_at, settle
from tests.support.table_readers import row_count

SIZE = (80, 24)


def gpu_process(app: DmabufTopApp) -> int:
    """The demo's chromium GPU process: its command line is over 300 characters."""
    procs = app.session.prepared.snap.processes.values()
    return next(p.pid for p in procs if "--type=gpu-process" in p.cmdline)


async def open_process(pilot, app: DmabufTopApp, pid: int, tree: bool = False) -> ProcessScreen:
    await pilot.press("2", *(["t"] if tree else []))
    await settle(pilot)
    table = app.screen.table()
    table.move_cursor(table.keys().index(str(pid)))
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, ProcessScreen) and app.screen.pid == pid
    return app.screen


async def test_the_process_pane_fits_80x24():
    async with demo_at(SIZE) as (app, pilot):
        pid = gpu_process(app)
        pane = await open_process(pilot, app, pid)
        cmdline = app.session.prepared.snap.processes[pid].cmdline
        assert len(cmdline) > 200
        title = pane.query_one("#detail-title")
        assert pane.max_scroll_y == 0 and 0 < title.region.y < 10  # nothing scrolls away
        box = pane.query_one("#process-fields", Static)
        lines = [line.text for line in box.render_lines(box.region.reset_offset)]
        cmd_line = next(line for line in lines if line.lstrip().startswith("cmdline"))
        assert cmd_line.rstrip().endswith("…") and len(lines) <= 9
        assert str(box.tooltip) == cmdline  # the whole of it
        table = pane.query_one("#process-buffers", LiveTable)
        footer = pane.query_one(KeyFooter)
        assert row_count(table) > 5 and table.region.height >= 4
        assert table.region.bottom <= footer.region.y  # on screen, above the footer
        keys = list(footer.query("FooterKey"))
        assert keys and max(k.region.right for k in keys) <= SIZE[0]  # no key cut
        assert "Back" in str(keys[0].render())
        assert "Cmdline" in [label for _k, label, *_ in shown_keys(pane)]
        await pilot.press("c")  # the whole command line, wrapped
        await settle(pilot)
        assert box.has_class("-whole") and box.size.height > len(lines)
        assert table.region.height >= 4 and pane.max_scroll_y == 0  # the table keeps rows


async def test_enter_on_an_ancestor_says_what_its_descendants_hold():
    async with demo_at(SIZE) as (app, pilot):
        pane = await open_process(pilot, app, 1, tree=True)
        n = app.session.sample_count
        title = str(pane.query_one("#detail-title").render())
        assert "Process 1  init" in title and "?" not in title
        held = sum(1 for b in app.session.prepared.snap.buffers.values() if b.holders)
        # of the demo's 77 buffers, the raster tile chromium made during the last scan
        # (listed by the kernel, its fd not yet seen) is held by no one
        assert held == 76
        assert "HOLDS NO DMA-BUF NOW" in title and f"8 descendants hold {held} dma-bufs" in title
        label = str(pane.query_one("#rss-label").render())
        assert label == f"Rss over time: held no dma-buf in any of {n} samples" and n == 12
