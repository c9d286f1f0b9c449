"""Pilot tests on the demo recording at the sizes issue 25 saw it: a new sort or filter
starts at the top of its list (cursor on row 0, scrolled to the top), as in htop; Home and
End go to the table's first and last row, ``{`` ``}`` to the recording's first and last
sample; the one sort state is what the scan thread orders the next rows by."""

from __future__ import annotations

from dmabuf_top.cli.options import DEMO_RECORDING
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.screens.main import MainScreen
from tests.support.pilot import file_backend, settle


def demo_app() -> DmabufTopApp:
    return DmabufTopApp(file_backend(DEMO_RECORDING), delay=3600)


def at_top(screen: MainScreen) -> bool:
    table = screen.table()
    return table.cursor_row == 0 and table.scroll_offset.y == 0


async def test_a_new_sort_starts_at_the_top_at_80x24():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        table = screen.table()
        await pilot.press("end")  # the table's last row (not the recording's last sample)
        assert table.cursor_row == table.row_count - 1 > 20 and table.scroll_offset.y > 0
        await pilot.press("c")  # PROCS, most first
        await settle(pilot)
        assert screen.sort["buffers"] == ("procs", False) and at_top(screen)
        procs = [int(table.state.get_cell(k, "procs")) for k in table.keys()]
        assert procs[0] == max(procs) > 1
        assert table.state.title("procs").endswith("▼")


async def test_invert_starts_at_the_top_at_120x40():
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        table = screen.table()
        await pilot.press("pagedown", "pagedown")
        assert table.cursor_row > 0
        await pilot.press("I")  # SIZE▲: the smallest first, from the top
        await settle(pilot)
        assert screen.sort["buffers"] == ("size", True) and at_top(screen)
        assert table.state.title("size").endswith("▲")


async def test_a_new_filter_starts_at_the_top():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        table = screen.table()
        await pilot.press("end")
        await pilot.press("slash", *"drm", "enter")
        await settle(pilot)
        assert 0 < table.row_count < 66 and at_top(screen)
        await pilot.press("end", "escape")  # clearing it: every row, from the top
        await settle(pilot)
        assert table.row_count == 66 and at_top(screen)


async def test_home_end_move_in_the_table_braces_step_the_recording():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.table()
        n = app.session.sample_count
        assert app.session.sample_index == n - 1
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("home")
        assert table.cursor_row == 0 and app.session.sample_index == n - 1
        await pilot.press("left_curly_bracket")  # {: the first sample
        await settle(pilot)
        assert app.session.sample_index == 0
        await pilot.press("right_curly_bracket")  # }: the last
        await settle(pilot)
        assert app.session.sample_index == n - 1


async def test_the_scan_thread_orders_rows_by_the_one_sort_state():
    """The screen writes the sort into the session's ViewOrder; the next scan's rows
    come ordered by it (no copy relayed by the screen)."""
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert screen.sort is app.session.order.sort
        await pilot.press("c")
        await pilot.press("left_curly_bracket")  # a new scan (the first sample)
        await settle(pilot)
        prep = app.prepared
        assert prep is not None and prep.ordered["buffers"][0] == ("procs", False, "")
        assert screen.table().keys() == [r.key for r in prep.ordered["buffers"][1]]
