"""The buffer pane names holders by GEM handle: "via GEM handle 3 on card0 (vgem)"."""

from __future__ import annotations

from textual.widgets import Static

from dmabuf_top.model import GemHandle, Holder
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.screens.detail import BufferScreen
from tests.support.pilot import SIZE, ScriptedBackend, settle, small_snapshot
from tests.support.table_readers import cell_of


async def test_the_buffer_pane_marks_holders_by_gem_handle():
    snap = small_snapshot()
    # the kernel-only buffer 15, held by camera's handle 3 only; 12 also by a handle of 301
    snap.buffers[15].holders = [Holder(500, handles=[GemHandle(6, 3, "card0", "vgem")])]
    snap.buffers[12].holders[0].handles = [GemHandle(4, 1, "renderD128", "[b]x")]
    app = DmabufTopApp(ScriptedBackend([snap]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.table()
        table.move_cursor(row=table.keys().index("15"))
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BufferScreen) and screen.inode == 15
        holders = screen.query_one("#holders")
        assert holders.keys() == ["500:0"]
        cell = cell_of(holders, "500:0", "map")
        assert str(cell) == "via GEM handle 3 on card0 (vgem)"
        assert str(cell_of(holders, "500:0", "fds")) == "-"
        facts = str(screen.query_one("#buffer-fields", Static).render())
        assert "1 process (1 by GEM handle only)" in facts
        await pilot.press("escape")
        await settle(pilot)
        table = app.screen.table()
        table.move_cursor(row=table.keys().index("12"))
        await pilot.press("enter")
        await settle(pilot)
        holders = app.screen.query_one("#holders")
        assert holders.keys() == ["301:0", "301:1", "412:0"]  # its mapping, then its handle
        cell = cell_of(holders, "301:1", "map")
        assert str(cell) == "via GEM handle 1 on renderD128 ([b]x)"  # literally


def test_lean_live_samples_keep_the_holders_by_handle_only():
    """The suspects' lean copy of a sample gives the same per-process figures
    (Rss, Pss, handle bytes) as the sample itself."""
    from dmabuf_top.analysis.accounting import process_stats
    from dmabuf_top.analysis.samples import LiveSamples

    snap = small_snapshot()
    snap.buffers[15].holders = [Holder(500, handles=[GemHandle(6, 3, "card0", "vgem")])]
    snap.buffers[12].holders.append(Holder(500, handles=[GemHandle(6, 4, "card0", "vgem")]))
    lean = LiveSamples().add(snap)

    def figures(s):
        return [(p.pid, p.rss, p.pss, p.handle_bytes, p.buffers) for p in process_stats(s)]

    assert figures(lean) == figures(snap)
    assert [p.handle_bytes for p in process_stats(snap) if p.pid == 500] == [(1 << 20) + (8 << 20)]
