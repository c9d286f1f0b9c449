"""A refresh reaches the widgets one way: the scan's result lands, the app's
``data_version`` moves, and the screens watching it show it (the one on top, or the one
a dialog is over, at once; one under a pane when it comes back)."""

from __future__ import annotations

from dmabuf_top.model import Buffer, Holder
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.screens.detail import ProcessScreen
from dmabuf_top.tui.screens.help import HelpScreen
from dmabuf_top.tui.screens.main import MainScreen
from tests.support.pilot import SIZE, ScriptedBackend, evolve, settle, small_snapshot, wait_until

T1, T2 = "2026-11-21T10:00:02Z", "2026-11-21T10:00:04Z"


def with_buffer(inode: int, taken_at: str, base):
    """``base`` at ``taken_at`` with one more buffer, ``inode``, held by pid 500."""
    def add(s) -> None:
        s.buffers[inode] = Buffer(inode, 4 << 20, "system", f"fresh {inode}", 1,
                                  holders=[Holder(500, [20 + inode % 10])],
                                  sources=["fdinfo"], heap=True)
    return evolve(base, taken_at, add)


def header_text(screen) -> str:
    return str(screen.query_one("#header-totals").render())


async def test_a_refresh_reaches_the_table_and_the_header():
    s0 = small_snapshot()
    s1 = with_buffer(40, T1, s0)
    app = DmabufTopApp(ScriptedBackend([s0, s1]), delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.screen
        assert isinstance(main, MainScreen) and "40" not in main.table().keys()
        before, version = header_text(main), app.data_version
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "40" in main.table().keys(), "the new buffer's row")
        assert app.data_version == version + 1  # one landing, one move
        assert header_text(main) != before  # the header's totals followed


async def test_a_dialog_shows_the_screen_behind_it_a_pane_catches_up_on_return():
    s0 = small_snapshot()
    s1 = with_buffer(40, T1, s0)
    s2 = with_buffer(41, T2, s1)
    app = DmabufTopApp(ScriptedBackend([s0, s1, s2]), delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.screen
        assert isinstance(main, MainScreen)
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        app.refresher.refresh_now()  # (help takes the keys)
        await wait_until(pilot, lambda: "40" in main.table().keys(), "the row behind help")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is main, "back from help")
        app.open_process(500)
        await wait_until(pilot, lambda: isinstance(app.screen, ProcessScreen), "the pane")
        pane = app.screen
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "41" in pane.query_one("#process-buffers").keys(),
                         "the pane's new buffer")
        assert "41" not in main.table().keys()  # (under the pane: not painted for nothing)
        await pilot.press("escape")
        await wait_until(pilot, lambda: "41" in main.table().keys(), "main caught up")
