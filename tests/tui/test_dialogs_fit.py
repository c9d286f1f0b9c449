"""Pilot tests at 80x24 (issue 25): the sort and signal lists open beside the table as in
htop (the table still shown), setup's checked and unchecked columns look different, and
the help fits in two pages."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import SelectionList

from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.screens.help import HelpScreen
from dmabuf_top.tui.screens.main import MainScreen
from dmabuf_top.tui.screens.setup import SetupScreen
from dmabuf_top.tui.screens.signal import SignalScreen
from dmabuf_top.tui.screens.sort_menu import SortMenu
from tests.support.pilot import demo_at, settle
from tests.support.seen import sleeper
from tests.tui.test_htop_keys import SignallingBackend, open_signal_dialog, snapshot_held_by

SIZE = (80, 24)


def beside_the_table(app: DmabufTopApp, box_id: str) -> None:
    """The dialog is a panel at the left edge, the screen under it not covered."""
    box = app.screen.query_one(box_id)
    assert box.region.x == 0 and box.region.width <= SIZE[0] // 2
    assert app.screen.styles.background.a == 0  # the table shows through beside it
    table = app.screen_stack[-2].query_one("#table")
    assert table.region.right > box.region.right  # (the table is still laid out there)


async def test_the_sort_list_opens_beside_the_table():
    async with demo_at(SIZE, "f6") as (app, pilot):
        assert isinstance(app.screen, SortMenu)
        beside_the_table(app, "#sort-box")


async def test_the_signal_list_opens_beside_the_table(tmp_path: Path):
    with sleeper(tmp_path / "got") as child:
        app = DmabufTopApp(SignallingBackend([snapshot_held_by(child.pid)]), delay=3600)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await open_signal_dialog(pilot, app, child.pid, "f9")
            assert isinstance(app.screen, SignalScreen)
            beside_the_table(app, "#signal-box")
            await pilot.press("escape")


async def test_setup_checkboxes_look_checked_or_not():
    async with demo_at((120, 40)) as (app, pilot):
        main = app.screen
        assert isinstance(main, MainScreen)
        main.hide_columns("buffers", ["inode"])
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        sel = app.screen.query_one("#setup-buffers", SelectionList)
        titles = [str(sel.get_option_at_index(i).prompt) for i in range(sel.option_count)]
        styles = {}
        for i, title in enumerate(titles):
            line = sel.render_line(i)  # (compact: no border, one line an option)
            x = next(s for s in line if s.text == "X")
            styles[title] = x.style
        unchecked, checked = styles.pop("INODE"), styles.pop("SIZE")
        assert unchecked.color == unchecked.bgcolor  # an empty box
        assert checked.color != checked.bgcolor and checked.bold


async def test_help_fits_in_two_pages_at_80x24():
    async with demo_at(SIZE, "f1") as (app, pilot):
        assert isinstance(app.screen, HelpScreen)
        box = app.screen.query_one("#help-box")
        assert box.virtual_size.height <= 2 * box.size.height
