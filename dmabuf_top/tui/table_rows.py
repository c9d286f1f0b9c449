"""The rows a table shows, by key and in order, brought up to date by diff: which rows'
lines are stale after a refresh (their cells or their new/freed mark changed), and what
the refresh changed (counts, and every changed cell)."""

from __future__ import annotations

from collections.abc import Sequence

from dmabuf_top.tui.rows import Row


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

    def __len__(self) -> int:
        return len(self.keys)

    def update(self, rows: Sequence[Row], same_rows: bool = False) -> list[str]:
        """Hold exactly ``rows``, in order; returns the keys whose line must be
        rendered again. ``same_rows``: only the order changed (a new sort)."""
        if same_rows and len(rows) == len(self.cells):
            self.keys = [r.key for r in rows]
            return []
        old_cells, old_marks = self.cells, self.marks
        cells: dict[str, tuple[str, ...]] = {}
        marks: dict[str, str] = {}
        changed: list[tuple[str, str]] = []
        stale: list[str] = []
        added = 0
        names = self.column_keys
        for r in rows:
            k, new = r.key, r.cells
            cells[k] = new
            if r.mark:
                marks[k] = r.mark
            old = old_cells.get(k)
            if old is new:  # the very same row as before: nothing to compare
                continue
            if old is None:
                added += 1
                stale.append(k)
            elif old != new:
                changed += [
                    (k, names[i]) for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b
                ]
                stale.append(k)
        removed = len(old_cells) - (len(cells) - added)
        if removed:
            stale += [k for k in old_cells if k not in cells]
        stale += [k for k in old_marks.keys() | marks.keys() if old_marks.get(k) != marks.get(k)]
        self.keys = [r.key for r in rows]
        self.cells, self.marks = cells, marks
        self.changed_cells = changed
        self.last_sync = (len(changed), added, removed)
        return stale
