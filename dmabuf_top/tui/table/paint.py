"""How the live table paints a row: the styles it paints in (looked up once per theme
or focus change, never per line) and a row's line from its cells."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from dmabuf_top.tui.table.layout import TONES, Layout

#: the marks a row may have (each a ``live-table--MARK`` style)
MARKS = ("new", "freed", "ancestor")


@dataclass(frozen=True)
class RowStyles:
    """What rows are painted in: the table's style, a marked row's, the cursor's
    (over a row's) and each tone's (over a cell's)."""

    base: Style
    marks: dict[str, Style]
    cursor: Style
    tones: dict[str, Style]


def row_styles(base: Style, part: Callable[..., Style]) -> RowStyles:
    """The styles from the table's own (``base``) and its component styles (``part``:
    the widget's get_component_rich_style)."""
    return RowStyles(
        base=base,
        marks={m: part(f"live-table--{m}") for m in MARKS},
        cursor=part("live-table--cursor", partial=True),
        tones={t: part(f"live-table--{t}", partial=True) for t in TONES},
    )


def row_strip(
    layout: Layout, cells: Sequence[str], now: float | None, styles: RowStyles,
    mark: str | None = None, cursor: bool = False,
) -> Strip:
    """One row's line: its cells fitted to ``layout`` (ages at ``now``), toned, in its
    mark's style; the cursor's row and a freed one in a single style."""
    style = styles.marks[mark] if mark else styles.base
    if cursor or mark == "freed":  # one style: the cursor's, or struck out
        if cursor:
            style = style + styles.cursor
        return Strip([Segment(layout.line(cells, now), style)], layout.width)
    tones = styles.tones
    return Strip([
        Segment(text, style + tones[t] if t else style) for text, t in layout.pieces(cells, now)
    ], layout.width)
