"""A DataTable that is brought up to date in place, row by row.

``sync(rows)`` makes the table show exactly ``rows`` in that order: cells that
changed are updated with ``update_cell``, new rows are added with ``add_row``,
rows that are gone are removed in one batch, and the order is set in one pass.
The cursor stays on the row (key) it was on. Column widths are fixed, so
nothing is ever re-measured.

Two private parts of Textual's DataTable are used, which is why textual is
pinned exactly: the row-location map (to remove many rows and reorder in one
O(n) pass instead of ``remove_row``'s O(n) per row) and the per-row style hook
(to mark new and freed rows with theme-styled component classes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from ...views import Column
from ..rows import Row


def cell_text(value: str, kind: str) -> Text:
    """A cell: always ``Text`` (never markup), numbers right-aligned."""
    if kind == "text":
        return Text(value, overflow="ellipsis", no_wrap=True)
    return Text(value, justify="right", no_wrap=True)


def _stock_bindings() -> list[BindingType]:
    return [
        b
        for b in DataTable.BINDINGS
        if not (isinstance(b, Binding) and b.key in ("home", "end"))
    ]


class DiffTable(DataTable[Text], inherit_bindings=False):
    """The table of one view, updated by diff."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "difftable--new",
        "difftable--freed",
    }

    # Home/End are the app's (first/last sample of a recording, else top/bottom).
    BINDINGS: ClassVar[list[BindingType]] = _stock_bindings() + [
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]

    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(
            id=id, cursor_type="row", zebra_stripes=False, show_row_labels=False
        )
        self.spec = list(columns)
        self._kinds = [c.kind for c in self.spec]
        self._col_keys: list[ColumnKey] = []
        #: cells currently shown, by row key
        self._shown: dict[str, tuple[str, ...]] = {}
        self._rk: dict[str, RowKey] = {}
        self._marks: dict[str, str] = {}
        #: how many cells the last sync updated / rows it added and removed
        self.last_sync = (0, 0, 0)

    def on_mount(self) -> None:
        for c in self.spec:
            self._col_keys.append(self.add_column(self._label(c, None), width=c.width, key=c.key))

    # -- header -------------------------------------------------------------
    @staticmethod
    def _label(col: Column, arrow: str | None) -> Text:
        letter = f"{col.letter}:" if col.letter else ""
        title = f"{col.title}{arrow or ''}"
        width = max(col.width, 1)
        label = title if len(letter + title) > width else letter + title
        return Text(label, justify="right" if col.kind != "text" else "left")

    def set_sort_marker(self, key: str, descending: bool) -> None:
        """Show ▼/▲ on the sorted column's header."""
        arrow = "▼" if descending else "▲"
        for c, ck in zip(self.spec, self._col_keys, strict=False):
            self.columns[ck].label = self._label(c, arrow if c.key == key else None)
        self._update_count += 1
        self.refresh()

    # -- rows ---------------------------------------------------------------
    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor."""
        if not self.row_count:
            return None
        rk = self._row_locations.get_key(self.cursor_row)
        return None if rk is None else rk.value

    def keys(self) -> list[str]:
        """Row keys in display order."""
        get = self._row_locations.get_key
        return [get(i).value for i in range(self.row_count)]

    def mark_of(self, key: str) -> str:
        return self._marks.get(key, "")

    def sync(self, rows: Sequence[Row]) -> None:
        """Show exactly ``rows``, in order, touching only what changed."""
        keep = self.cursor_key
        keep_index = self.cursor_row
        shown = self._shown
        kinds = self._kinds
        col_keys = self._col_keys
        updated = added = 0
        wanted: set[str] = set()
        marks: dict[str, str] = {}
        for r in rows:
            k = r.key
            wanted.add(k)
            if r.mark:
                marks[k] = r.mark
            old = shown.get(k)
            if old is None:
                cells = (cell_text(v, t) for v, t in zip(r.cells, kinds, strict=True))
                rk = self.add_row(*cells, key=k)
                self._rk[k] = rk
                added += 1
            elif old != r.cells:
                rk = self._rk[k]
                for i, (a, b) in enumerate(zip(old, r.cells, strict=True)):
                    if a != b:
                        self.update_cell(rk, col_keys[i], cell_text(b, kinds[i]))
                        updated += 1
            else:
                continue
            shown[k] = r.cells
        gone = [k for k in shown if k not in wanted]
        self._remove(gone)
        self._marks = marks
        self._set_order([r.key for r in rows])
        self.last_sync = (updated, added, len(gone))
        if keep is not None and keep in wanted:
            index = self._row_locations.get(self._rk[keep])
        else:
            index = min(keep_index, max(0, self.row_count - 1))
        if self.row_count and index is not None and index != self.cursor_row:
            self.move_cursor(row=index, animate=False)

    def _remove(self, keys: list[str]) -> None:
        """Drop rows (the order is rebuilt by ``_set_order`` right after)."""
        for k in keys:
            rk = self._rk.pop(k)
            del self._shown[k]
            del self.rows[rk]
            del self._data[rk]
            self._new_rows.discard(rk)
            for ck in self._col_keys:
                self._updated_cells.discard((rk, ck))  # type: ignore[arg-type]
        if keys:
            self._require_update_dimensions = True

    def _set_order(self, keys: list[str]) -> None:
        rk = self._rk
        order = {rk[k]: i for i, k in enumerate(keys)}
        self._row_locations = TwoWayDict(order)
        self._update_count += 1
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate  # clamp
        self.hover_coordinate = Coordinate(0, 0)
        self.refresh(layout=True)
        self.check_idle()

    def _update_dimensions(self, new_rows: object) -> None:
        # Widths are fixed and rows are one line: nothing to measure, only the
        # virtual size to set (the stock method measures every new row).
        self._new_rows.clear()
        super()._update_dimensions(())

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        style = super()._get_row_style(row_index, base_style)
        if self._marks and row_index >= 0:
            rk = self._row_locations.get_key(row_index)
            mark = self._marks.get(rk.value) if rk is not None else None
            if mark:
                style = style + self.get_component_styles(f"difftable--{mark}").rich_style
        return style
