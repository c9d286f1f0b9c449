"""One view's table as a LiveTable shows it, kept while another view is shown: its columns,
rows, cursor and scroll position (its sort arrow read from the one sort state), and its
lines as last painted (so that switching back to it paints from them)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from textual.cache import LRUCache
from textual.strip import Strip

from dmabuf_top.report.columns import Column
from dmabuf_top.tui.table.layout import Layout, all_columns, title_label
from dmabuf_top.tui.table.rows import TableRows

#: the sort arrows of a title
DOWN, UP = "▼", "▲"


class TableState:
    """A table's columns (all of them, the sets to show widest first, the sort key
    written in each title, those left out), its rows by key and the cursor on one, the
    sorted column, where it was scrolled to; and what painting it left: the layout for
    the width it was fitted to, the header line and each row's line by key."""

    def __init__(
        self,
        columns: Sequence[Column],
        sets: Sequence[str] | None = None,
        letters: dict[str, str] | None = None,
        arrow: Callable[[], tuple[str, bool]] | None = None,
    ) -> None:
        """``arrow``: reads the sorted column's key and whether its arrow points down
        (tui/table/order.py's ViewOrder.arrow: the state keeps no sort of its own)."""
        self.spec = list(columns)
        self.sets = list(sets) if sets else all_columns(self.spec)
        self.letters = dict(letters or {})
        #: column keys not shown (live-only columns of a static source)
        self.hidden: frozenset[str] = frozenset()
        #: what age cells count up to (the snapshot's time, epoch seconds)
        self.now: float | None = None
        #: the rows, their cells and marks; what the last sync changed
        self.rows = TableRows([c.key for c in self.spec])
        self.cursor = 0
        self.arrow = arrow
        #: the scroll offset (x, y) when another state was shown in its place
        self.scroll = (0, 0)
        # -- what painting left (LiveTable's) --
        self.layout: Layout | None = None
        #: the width the layout is for (-1: fit again at the next paint), and the
        #: least width of that layout
        self.fitted_to, self.least = -1, 0
        #: each row's line as last rendered (not under the cursor), by row key; the
        #: ``now`` and the table's styles (a serial) they were rendered with
        self.lines: LRUCache[str, Strip] = LRUCache(4096)
        self.lines_now: float | None = None
        self.styles_serial = -1
        self.header: Strip | None = None

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor."""
        return self.rows.keys[self.cursor] if self.rows.keys else None

    def column_index(self, key: str) -> int:
        return self.rows.column_keys.index(key)

    # -- columns: each change makes the next paint fit again --------------------------
    def hide_columns(self, keys: Collection[str]) -> bool:
        """Leave out the columns ``keys``; whether that changed anything."""
        hidden = frozenset(keys)
        if hidden == self.hidden:
            return False
        self.hidden = hidden
        self.fitted_to = -1
        return True

    def use_sets(self, sets: Sequence[str]) -> bool:
        """Show the column sets ``sets`` (widest first); whether they are new."""
        if list(sets) == self.sets:
            return False
        self.sets = list(sets)
        self.fitted_to = -1
        return True

    @property
    def sort(self) -> tuple[str, bool] | None:
        """(column key, descending) of the sorted column (None: not sorted)."""
        return self.arrow() if self.arrow is not None else None

    def sort_changed(self) -> None:
        """The sort moved: the next paint fits the titles again (the arrow's room)."""
        self.fitted_to = -1

    def label(self, col: Column, arrow: bool = True) -> tuple[str, int]:
        """Column ``col``'s title as the header writes it (sort key, the arrow when
        sorted by it and ``arrow``), and where its sort key is in it."""
        on = arrow and self.sort is not None and self.sort[0] == col.key
        mark = (DOWN if self.sort[1] else UP) if on and self.sort else ""
        return title_label(col.title, self.letters.get(col.key, ""), mark)

    def title(self, key: str) -> str:
        """Column ``key``'s title as the header writes it."""
        return self.label(self.spec[self.column_index(key)])[0]
