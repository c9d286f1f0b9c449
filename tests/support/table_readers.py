"""What the tests read of a table (a LiveTable, its TableState) and of the header's
meters: helper functions over their public state, so the product classes carry no
readers only tests use."""

from __future__ import annotations

from typing import Any


def row_count(table: Any) -> int:
    """The rows a LiveTable holds (the freed shown once more included)."""
    return len(table.rows.keys)


def cursor_row(table: Any) -> int:
    """The row under a LiveTable's cursor."""
    return table.state.cursor


def last_sync(table: Any) -> tuple[int, int, int]:
    """Cells changed, rows added, rows removed by a LiveTable's last sync."""
    return table.rows.last_sync


def column_x(table: Any, key: str) -> int | None:
    """Where column ``key``'s title starts on the header line (None: not shown)."""
    layout = table.state.layout
    x = layout.x_of(key) if layout is not None else None
    return None if x is None else x - table.scroll_offset.x


def cell_of(table: Any, key: str, column: str) -> str:
    """The cell of row ``key`` in ``column`` (its text before fitting)."""
    rows = table.state.rows
    return rows.cells[key][rows.column_keys.index(column)]


def mark_of(table: Any, key: str) -> str:
    """"new" or "freed" for a row highlighted this refresh, else ""."""
    return table.state.rows.marks.get(key, "")


def shown_columns(table: Any) -> list[str]:
    """The keys of the columns shown now (as last painted), left to right."""
    layout = table.state.layout
    return layout.keys if layout is not None else []


def meters_in_sight(bars: Any) -> tuple[Any, ...]:
    """The header's meters on screen (a short header shows the first lines only)."""
    return bars.meters[: bars.size.height]
