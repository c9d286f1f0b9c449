"""The one sort and filter state of the four views: per view the sorted column and whether
it is reversed, and the row filter. The main screen changes it, the table titles read
their arrow from it, and the scan thread reads it to order the next rows off the UI
thread (no one relays it)."""

from __future__ import annotations

from collections.abc import Mapping

from dmabuf_top.report.columns import Column
from dmabuf_top.tui.table.columns import DEFAULT_SORT, VIEW_NAMES, column
from dmabuf_top.tui.table.filter import RowFilter


class ViewOrder:
    """``sort[view]``: (column key, reversed); ``row_filter``: the filter of every view
    (None: every row). Each change replaces a whole value, so the scan thread reads a
    consistent one without a lock."""

    def __init__(self, sort: Mapping[str, tuple[str, bool]] | None = None) -> None:
        self.sort: dict[str, tuple[str, bool]] = {v: (DEFAULT_SORT[v], False) for v in VIEW_NAMES}
        self.sort.update(sort or {})
        self.row_filter: RowFilter | None = None

    def sort_by(self, view: str, key: str) -> None:
        """Sort ``view`` by ``key``; again on the sorted column reverses."""
        old, rev = self.sort[view]
        self.sort[view] = (key, (not rev) if old == key else False)

    def arrow(self, view: str) -> tuple[str, bool]:
        """The sorted column of ``view`` and whether its title's arrow points down."""
        key, rev = self.sort[view]
        return key, column(view, key).descending != rev

    def of(self, view: str) -> tuple[Column, bool, RowFilter | None]:
        """What orders ``view``'s rows: the column, reversed, the filter."""
        key, rev = self.sort[view]
        return column(view, key), rev, self.row_filter

    def key(self, view: str) -> tuple[str, bool, str]:
        """``view``'s order as a value (rows ordered for it can be told from others)."""
        key, rev = self.sort[view]
        flt = self.row_filter
        return key, rev, flt.text if flt is not None else ""
