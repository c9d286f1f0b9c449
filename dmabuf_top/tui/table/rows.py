"""The rows a table shows, by key and in order, brought up to date by diff: which rows'
lines are stale after a refresh (their cells or their new/freed mark changed), and what
the refresh changed (counts, and every changed cell)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dmabuf_top.tui.rows import Row


@dataclass(frozen=True)
class SyncPlan:
    """What changed from the rows ``base`` (a list a table may hold; None: a table that
    holds no rows yet) to others, worked out by :func:`plan_sync` off the UI thread:
    their keys in order, the rows that are not one of ``base``'s Row objects (only
    those can differ: a Row handed over is never changed, prepare() makes a new one),
    the keys of ``base`` gone; from no rows, every row's cells and marks by key."""

    base: list[Row] | None
    keys: list[str]
    moved: list[Row]
    gone: frozenset[str]
    cells: dict[str, tuple[str, ...]] | None = None
    marks: dict[str, str] | None = None


def plan_sync(rows: list[Row], base: list[Row] | None) -> SyncPlan:
    """The plan from ``base`` to ``rows`` (scan thread: O(rows) here, so that the UI
    thread's update is O(rows changed))."""
    keys = [r.key for r in rows]
    if base is None:
        return SyncPlan(None, keys, [], frozenset(), {r.key: r.cells for r in rows},
                        {r.key: r.mark for r in rows if r.mark})
    held = set(map(id, base))
    moved = [r for r in rows if r.mark or id(r) not in held]
    gone = frozenset({r.key for r in base}.difference(keys))
    return SyncPlan(base, keys, moved, gone)


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
