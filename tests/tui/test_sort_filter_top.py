"""Pilot tests on the demo recording at the sizes issue 25 saw it: a new sort or filter
starts at the top of its list (cursor on row 0, scrolled to the top), as in htop; Home and
End go to the table's first and last row, ``{`` ``}`` to the recording's first and last
sample; the one sort state is what the scan thread orders the next rows by."""

from __future__ import annotations

import pytest

from dmabuf_top.tui.screens.main import MainScreen
from tests.support.pilot import demo_at, settle
from tests.support.table_readers import cell_of, cursor_row, row_count


def at_top(screen: MainScreen) -> bool:
    table = screen.table()
    return cursor_row(table) == 0 and table.scroll_offset.y == 0


@pytest.mark.parametrize(("size", "key", "sort", "arrow"), [
    ((80, 24), "c", ("procs", False), "▼"),  # PROCS, most first (issue 25 at 80x24)
    ((120, 40), "I", ("size", True), "▲"),  # SIZE inverted: the smallest first (at 120x40)
])
async def test_a_new_sort_starts_at_the_top(size, key, sort, arrow):
    async with demo_at(size) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, MainScreen)
        table = screen.table()
        await pilot.press("end")  # the table's last row (not the recording's last sample)
        assert cursor_row(table) == row_count(table) - 1 > 20 and table.scroll_offset.y > 0
        await pilot.press(key)
        await settle(pilot)
        assert screen.sort["buffers"] == sort and at_top(screen)
        assert table.state.title(sort[0]).endswith(arrow)
        values = [cell_of(table, k, "procs") for k in table.keys()]
        if sort[0] == "procs":
            assert int(values[0]) == max(map(int, values)) > 1


async def test_a_new_filter_starts_at_the_top():
    async with demo_at((80, 24)) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, MainScreen)
        table = screen.table()
        await pilot.press("end")
        await pilot.press("slash", *"drm", "enter")
        await settle(pilot)
        assert 0 < row_count(table) < 77 and at_top(screen)
        await pilot.press("end", "escape")  # clearing it: every row, from the top
        await settle(pilot)
        assert row_count(table) == 77 == len(app.session.prepared.snap.buffers)
        assert at_top(screen)


async def test_home_end_move_in_the_table_braces_step_the_recording():
    async with demo_at((80, 24)) as (app, pilot):
        table = app.screen.table()
        n = app.session.sample_count
        assert app.session.sample_index == n - 1
        await pilot.press("end")
        assert cursor_row(table) == row_count(table) - 1
        await pilot.press("home")
        assert cursor_row(table) == 0 and app.session.sample_index == n - 1
        await pilot.press("left_curly_bracket")  # {: the first sample
        await settle(pilot)
        assert app.session.sample_index == 0
        await pilot.press("right_curly_bracket")  # }: the last
        await settle(pilot)
        assert app.session.sample_index == n - 1


async def test_the_scan_thread_orders_rows_by_the_one_sort_state():
    """The screen writes the sort into the session's ViewOrder; the next scan's rows
    come ordered by it (no copy relayed by the screen)."""
    async with demo_at((80, 24)) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert screen.sort is app.session.order.sort
        await pilot.press("c")
        await pilot.press("left_curly_bracket")  # a new scan (the first sample)
        await settle(pilot)
        prep = app.session.prepared
        assert prep is not None and prep.ordered["buffers"][0] == ("procs", False, "")
        assert screen.table().keys() == [r.key for r in prep.ordered["buffers"][1]]
