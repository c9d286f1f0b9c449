"""One view's table as a LiveTable shows it, kept while another view is shown: its columns,
rows (by key, brought up to date by diff: which rows' lines are stale after a refresh),
cursor and scroll position (its sort arrow read from the one sort state), and its lines
as last painted (so that switching back to it paints from them)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from textual.cache import LRUCache
from textual.strip import Strip

from dmabuf_top.report.columns import Column
from dmabuf_top.report.live_rows import Row, SyncPlan
from dmabuf_top.tui.table.layout import AroundAge, Layout, all_columns, title_label


class TableRows:
    """Keys in display order, cells and marks by key."""

    def __init__(self, column_keys: Sequence[str]) -> None:
        self.column_keys = list(column_keys)
        self.keys: list[str] = []
        self.cells: dict[str, tuple[str, ...]] = {}
        #: "new" / "freed" by key, for the rows highlighted this refresh
        self.marks: dict[str, str] = {}
        #: cells changed, rows added, rows removed by the last update
        self.last_sync = (0, 0, 0)
        #: (row key, column key) of every cell the last update changed
        self.changed_cells: list[tuple[str, str]] = []
        #: the rows (the very list) held since the last update
        self.held: Sequence[Row] | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def update(
        self, rows: Sequence[Row], same_rows: bool = False, plan: SyncPlan | None = None
    ) -> list[str]:
        """Hold exactly ``rows``, in order; returns the keys whose line must be
        rendered again. ``same_rows``: only the order changed (a new sort).
        ``plan``: what changed from the rows held, worked out beforehand (used when it
        is from the very rows held: then no loop here goes over every row)."""
        held, self.held = self.held, rows
        if same_rows and len(rows) == len(self.cells):
            self.keys = [r.key for r in rows]
            return []
        if not self.cells:  # the first rows (or after none): every one is new
            if plan is not None and plan.cells is not None:  # (made off the UI thread)
                self.keys, self.cells, self.marks = plan.keys, dict(plan.cells), dict(
                    plan.marks or {})
            else:
                self.keys = [r.key for r in rows]
                self.cells = {r.key: r.cells for r in rows}
                self.marks = {r.key: r.mark for r in rows if r.mark}
            self.changed_cells = []
            self.last_sync = (0, len(self.cells), 0)
            return list(self.keys)
        cells, old_marks = self.cells, self.marks
        get = cells.get
        gone: frozenset[str] | set[str] | None = None
        if plan is not None and plan.base is not None and plan.base is held:
            keys, moved, gone = plan.keys, plan.moved, plan.gone
        else:  # two comprehensions over every row; Python loops only over rows that
            # changed (most are the very same Row objects as at the last refresh)
            keys = [r.key for r in rows]
            moved = [r for r in rows if r.mark or get(r.key) is not r.cells]
        names = self.column_keys
        marks: dict[str, str] = {}
        changed: list[tuple[str, str]] = []
        stale: list[str] = []
        added = 0
        for r in moved:
            k, new = r.key, r.cells
            if r.mark:
                marks[k] = r.mark
            old = get(k)
            if old is None:
                added += 1
            elif old is new:
                continue
            elif old == new:  # the same cells in a new row object: hold that one
                cells[k] = new
                continue
            else:
                changed += [
                    (k, names[i]) for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b
                ]
            cells[k] = new
            stale.append(k)
        removed = 0
        if gone is None and len(cells) != len(keys):  # some rows are gone
            gone = cells.keys() - set(keys)
        if gone:
            removed = len(gone)
            for k in gone:
                del cells[k]
            stale += gone
        stale += [k for k in old_marks.keys() | marks.keys() if old_marks.get(k) != marks.get(k)]
        self.keys, self.marks = keys, marks
        self.changed_cells = changed
        self.last_sync = (len(changed), added, removed)
        return stale


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
        (report/row_order.py's ViewOrder.arrow: the state keeps no sort of its own)."""
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
        #: each row's line around its age cell (layout.around_age), by row key
        self.around_age: LRUCache[str, AroundAge] = LRUCache(4096)
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
