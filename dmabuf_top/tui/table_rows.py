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
        # two comprehensions over every row; Python loops only over rows that
        # changed (most are the very same Row objects as at the last refresh)
        cells, old_marks = self.cells, self.marks
        keys = [r.key for r in rows]
        get = cells.get
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
        if len(cells) != len(keys):  # some rows are gone
            gone = cells.keys() - set(keys)
            removed = len(gone)
            for k in gone:
                del cells[k]
            stale += gone
        stale += [k for k in old_marks.keys() | marks.keys() if old_marks.get(k) != marks.get(k)]
        self.keys, self.marks = keys, marks
        self.changed_cells = changed
        self.last_sync = (len(changed), added, removed)
        return stale
