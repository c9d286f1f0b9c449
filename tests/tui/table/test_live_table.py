"""The live table (tui/table/live_table.py): a row's line around its age cell is made
once, its age at every refresh; the line is the one made whole."""

from __future__ import annotations

from dmabuf_top.model import Buffer, Holder
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.table.layout import row_strip, row_styles
from tests.support.pilot import SIZE, ScriptedBackend, evolve, file_backend, settle, small_snapshot


def add_buffer(snap) -> None:  # noqa: ANN001 - a Snapshot
    snap.buffers[16] = Buffer(16, 4 << 20, "drm", "late", 1, holders=[Holder(500, [8])],
                              sources=["fdinfo"])


async def test_ages_move_on_and_each_line_is_the_one_made_whole():
    first = small_snapshot("2026-11-21T10:00:00Z")
    later = evolve(first, "2026-11-21T10:01:05Z", add_buffer)
    app = DmabufTopApp(ScriptedBackend([first, later]), delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.table()
        before = {k: table.render_line(1 + i).text for i, k in enumerate(table.rows.keys)}
        assert all(" 0s " in line for line in before.values())
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert table.rows.marks == {"16": "new"}
        styles = row_styles(table.rich_style, table.get_component_rich_style)
        layout, now = table.state.layout, table.state.now
        for i, key in enumerate(table.rows.keys):
            if i == table.state.cursor:
                continue  # (the cursor's row is made whole at each paint)
            line = table.render_line(1 + i)
            whole = row_strip(layout, table.rows.cells[key], now, styles,
                              table.rows.marks.get(key))
            assert list(line.simplify()) == list(whole.simplify()), key
            if key != "16":
                assert " 1m05s " in line.text
                assert line.text.replace(" 1m05s ", "    0s ") == before[key]


async def test_the_last_resize_at_startup_keeps_the_header_line_painted():
    """At 80x24 the table's last resize at startup (its height set, the width as it was)
    left the header line dropped until the next refresh painted it again: a resize to
    the same width keeps it, and a refresh paints from it."""
    app = DmabufTopApp(file_backend(), delay=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.table()
        header = table.state.header
        assert header is not None
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert table.state.header is header
        assert "SIZE▼" in table.render_line(0).text
