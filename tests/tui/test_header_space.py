"""Pilot tests of the header's use of space on the demo (issue 25): at 200x50 the meters
span the width and the graph grows with the height, titled; ``0`` scales it from zero;
``#`` gives the meters' and graph's rows to the table; at 40x10 data rows still show."""

from __future__ import annotations

from dmabuf_top.tui.widgets.graph import TimeGraph
from dmabuf_top.tui.widgets.header import BAR, LABEL, MeterBars
from tests.support.pilot import demo_at, settle
from tests.support.table_readers import row_count


def graph_text(graph: TimeGraph) -> str:
    return "\n".join(line.text for line in graph.render_lines(graph.region.reset_offset))


async def test_meters_and_graph_use_200x50():
    async with demo_at((200, 50)) as (app, pilot):
        bars = app.screen.query_one(MeterBars)
        line = bars.render_line(0).text  # "of RAM     ━━━…   6%  114.7M of 1.9G"
        assert line.index("%") > LABEL + 2 * BAR and bars.size.width > 90
        graph = app.screen.query_one("#header-graph", TimeGraph)
        assert graph.size.height >= 10  # 50 rows: a fifth of them, not 5
        text = graph_text(graph)
        assert "dma-buf total, from the lowest" in text and "0B" not in text
        await pilot.press("0")  # from zero: the scale's foot is 0
        await settle(pilot)
        text = graph_text(graph)
        assert graph.zero and "dma-buf total, from 0" in text and "0B" in text
        await pilot.press("0")
        await settle(pilot)
        assert not graph.zero


async def test_hiding_the_graphs_gives_their_rows_to_the_table():
    async with demo_at((120, 40)) as (app, pilot):
        table = app.screen.table()
        body = app.screen.query_one("#header-body")
        rows, body_rows = table.region.height, body.region.height
        assert body_rows >= 5
        await pilot.press("number_sign")
        await settle(pilot)
        assert not body.display and table.region.height == rows + body_rows
        await pilot.press("number_sign")
        await settle(pilot)
        assert table.region.height == rows


async def test_data_rows_show_at_40x10():
    async with demo_at((40, 10)) as (app, pilot):
        table = app.screen.table()
        # below the title line, rows of data (and no more than the terminal has)
        assert row_count(table) > 0 and table.scrollable_content_region.height - 1 >= 2
        assert table.region.bottom <= 10
