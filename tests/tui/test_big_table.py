"""The table at 10,000 rows: the cursor stays on its buffer across a refresh that
reorders, adds and frees rows; new and freed rows are marked; sorting by key and by a
click on a title; the filter; a view switch that leaves each view's table as it was."""

from __future__ import annotations

import re

from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.screens.main import MainScreen
from tests.support.pilot import ScriptedBackend, settle
from tests.support.synth import MIB, buf, snap
from tests.support.table_readers import (
    cell_of,
    column_x,
    cursor_row,
    last_sync,
    mark_of,
    row_count,
    shown_columns,
)

N = 10_000
SIZE = (120, 40)
COMMS = {1000 + p: f"proc{p}" for p in range(200)}


def scene(t: float, grown: int = 0, gone: range = range(0), new: range = range(0)):
    """N buffers of 1..N KiB held by 200 processes; ``grown`` becomes the largest,
    ``gone`` are freed, ``new`` appear (64 MiB each: at the top by size)."""
    bufs = []
    for i in range(N):
        if i in gone:
            continue
        size = (1 << 30) if i == grown and grown else (i + 1) << 10
        bufs.append(buf(10 + i, size, f"buf-{i}" if i % 2 else None,
                        holders={1000 + i % 200: [3 + i // 200]}))
    bufs += [buf(100_000 + j, 64 * MIB, f"fresh-{j}", holders={1000: [900 + j]}) for j in new]
    return snap(bufs, COMMS, t=t)


def main_screen(app: DmabufTopApp) -> MainScreen:
    assert isinstance(app.screen, MainScreen)
    return app.screen


def in_view(table) -> bool:
    top = table.scroll_offset.y
    return top <= cursor_row(table) < top + table.scrollable_content_region.height - 1


async def test_the_cursor_keeps_its_buffer_and_new_and_freed_rows_are_marked():
    s0 = scene(0)
    s1 = scene(2, grown=7000, gone=range(100, 110), new=range(3))
    app = DmabufTopApp(ScriptedBackend([s0, s1]), delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = main_screen(app).table()
        assert row_count(table) == N
        assert table.keys()[:2] == [str(10 + N - 1), str(10 + N - 2)]  # largest first
        for _ in range(20):
            await pilot.press("pagedown")
        held, row = table.cursor_key, cursor_row(table)
        assert row > 500 and in_view(table)
        await pilot.press("ctrl+r")
        await settle(pilot)
        keys = table.keys()
        # 7010 grew to the top, 3 new rows below it: the cursor's buffer is 4 rows lower
        assert keys[:4] == ["7010", "100000", "100001", "100002"]
        assert table.cursor_key == held and cursor_row(table) == row + 4
        assert in_view(table)
        # (a dma-buf's size never changes: its inode with another size is a new buffer)
        assert [mark_of(table, k) for k in keys[:4]] == ["new", "new", "new", "new"]
        freed = [k for k in keys if mark_of(table, k) == "freed"]
        assert sorted(freed) == [str(10 + i) for i in range(100, 110)]
        assert row_count(table) == N + 3  # the freed are shown once more
        assert last_sync(table)[1:] == (3, 0)  # 3 rows added, none removed: no rebuild
        assert ("7010", "size") in table.rows.changed_cells
        await pilot.press("ctrl+r")  # the same data again: the freed go, nothing is new
        await settle(pilot)
        assert row_count(table) == N - 10 + 3 and table.cursor_key == held
        assert not any(mark_of(table, k) for k in table.keys())


async def test_sort_by_key_and_by_a_click_on_a_title():
    app = DmabufTopApp(ScriptedBackend([scene(0)]), delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        table = screen.table()
        await pilot.press("pagedown", "pagedown")
        assert table.scroll_offset.y > 0
        await pilot.press("i")  # by inode, ascending: from its top, as in htop
        await pilot.pause()
        assert table.keys() == [str(10 + i) for i in range(N)]
        assert cursor_row(table) == 0 and table.scroll_offset.y == 0
        assert table.state.title("inode").endswith("▲")
        await pilot.press("i")  # again: reversed
        await pilot.pause()
        assert table.keys() == [str(10 + i) for i in reversed(range(N))]
        x = column_x(table, "size")
        await pilot.click(table, offset=(x + 3, 0))  # the SIZE title: largest first
        await pilot.pause()
        assert screen.sort["buffers"] == ("size", False)
        assert table.keys()[:3] == [str(10 + N - 1), str(10 + N - 2), str(10 + N - 3)]
        title = table.state.title
        assert title("size").endswith("▼") and not title("inode").endswith("▲")
        assert table.cursor_key == str(10 + N - 1) and in_view(table)


async def test_filter_at_ten_thousand_rows():
    app = DmabufTopApp(ScriptedBackend([scene(0)]), delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = main_screen(app).table()
        await pilot.press("slash", *"buf-77", "enter")
        await pilot.pause()
        want = [i for i in range(N) if i % 2 and "buf-77" in f"buf-{i}"]
        assert sorted(table.keys(), key=int) == [str(10 + i) for i in want]
        await pilot.press("escape", "slash", *r"re:^buf-9\d{3}$", "enter")
        await pilot.pause()
        assert len(table.keys()) == len([i for i in range(9000, N) if i % 2])
        names = [cell_of(table, k, "name") for k in table.keys()]
        assert all(re.fullmatch(r"buf-9\d{3}", name) for name in names)
        await pilot.press("escape")
        await pilot.pause()
        assert row_count(table) == N


async def test_each_view_keeps_its_cursor_scroll_and_sort_across_switches():
    app = DmabufTopApp(ScriptedBackend([scene(0)]), delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        table = screen.table()
        for _ in range(5):
            await pilot.press("pagedown")
        await pilot.press("down")
        held, row, top = table.cursor_key, cursor_row(table), table.scroll_offset.y
        assert top > 0 and in_view(table)
        await pilot.press("2")  # Processes: its own rows, cursor at its top, sorted its way
        await settle(pilot)
        assert screen.view == "processes" and table is screen.table() and table.has_focus
        assert row_count(table) == 200 and cursor_row(table) == 0 and table.scroll_offset.y == 0
        assert "pid" in shown_columns(table) and "inode" not in shown_columns(table)
        await pilot.press("down", "down", "i")  # by pid (htop's I): ascending
        await pilot.pause()
        procs = table.cursor_key
        assert table.state.title("pid").endswith("▲")
        await pilot.press("1")
        await settle(pilot)
        assert (table.cursor_key, cursor_row(table), table.scroll_offset.y) == (held, row, top)
        assert "inode" in shown_columns(table) and table.state.title("size").endswith("▼")
        assert cell_of(table, held, "inode") == held
        await pilot.press("2")
        await settle(pilot)
        assert table.cursor_key == procs and table.keys()[:2] == ["1000", "1001"]
        assert screen.state("buffers").cursor_key == held  # kept while not shown


async def test_a_theme_change_in_another_view_repaints_a_view_on_switching_back():
    app = DmabufTopApp(ScriptedBackend([scene(0)]), delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        table = screen.table()
        key = table.keys()[1]  # a row off the cursor: its line is cached
        painted = screen.state("buffers").lines.get(key)
        assert painted is not None
        await pilot.press("2")
        await settle(pilot)
        app.theme = "dmabuf-light"
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        again = screen.state("buffers").lines.get(key)
        assert again is not None and again is not painted  # painted anew, in the new theme
        assert again.text == painted.text
