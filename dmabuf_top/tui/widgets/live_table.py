"""A DataTable brought up to date in place, row by row: ``sync(rows)`` updates changed
cells, adds new rows, removes gone ones in one batch, sets the order in one pass, keeps
the cursor on its row (private DataTable parts: why textual is pinned exactly)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey
from textual.widgets.data_table import Row as Row_

from dmabuf_top.report.columns import Column
from dmabuf_top.tui.rows import Row
from dmabuf_top.tui.widgets.cells import AgeCell, Clock, cell_text


class _RowView:
    """A read-only sequence over the table's rows, one item per row."""

    __slots__ = ("table",)

    def __init__(self, table: LiveTable) -> None:
        self.table = table

    def __len__(self) -> int:
        return len(self.table._row_locations)


class _OrderedRows(_RowView, Sequence[Row_]):
    """The table's rows in display order, looked up on demand: the stock
    property rebuilds a list of every row after each change (O(n))."""

    __slots__ = ()

    def __getitem__(self, index: Any) -> Any:
        t = self.table
        get_key = t._row_locations.get_key
        rows = t.rows
        if isinstance(index, slice):
            return [rows[get_key(i)] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return rows[get_key(index)]


class _YOffsets(_RowView, Sequence[tuple[RowKey, int]]):
    """Line y -> (row key, line in row); every row is one line high."""

    __slots__ = ()

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        key = self.table._row_locations.get_key(index)
        if key is None:
            raise IndexError(index)
        return (key, 0)

    def clear(self) -> None:
        pass


def _stock_bindings() -> list[BindingType]:
    return [
        b
        for b in DataTable.BINDINGS
        if not (isinstance(b, Binding) and b.key in ("home", "end"))
    ]


class LiveTable(DataTable[Text | AgeCell], inherit_bindings=False):
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

    #: above this many new rows, sync inserts them in bulk instead of add_row
    BULK = 200

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        letters: dict[str, str] | None = None,
        id: str | None = None,
    ) -> None:
        """``letters``: the sort key shown in each column's header, by column key."""
        super().__init__(
            id=id, cursor_type="row", zebra_stripes=False, show_row_labels=False
        )
        self.spec = list(columns)
        self.letters = dict(letters or {})
        self._kinds = [c.kind for c in self.spec]
        self._col_keys: list[ColumnKey] = []
        #: cells currently shown, by row key
        self._shown: dict[str, tuple[str, ...]] = {}
        self._rk: dict[str, RowKey] = {}
        self._marks: dict[str, str] = {}
        #: how many cells the last sync updated / rows it added and removed
        self.last_sync = (0, 0, 0)
        #: cells of rows taken out (by a filter, say), by key: (strings, Texts)
        #: so that putting them back does not build them again
        self._parked: dict[str, tuple[tuple[str, ...], list[Any]]] = {}
        self._peak = 0
        #: what AGE cells count up to
        self.clock = Clock()

    def on_mount(self) -> None:
        for c in self.spec:
            width = max(c.width, len(self._label(c, "▼").plain))
            self._col_keys.append(self.add_column(self._label(c, None), width=width, key=c.key))

    # -- header -------------------------------------------------------------
    def _label(self, col: Column, arrow: str | None) -> Text:
        """The title with its sort key: the letter underlined when the title
        holds it (SIZE: s), else written before it (``n:COMM``, ``P:PSS``:
        capital keys are always written out)."""
        letter = self.letters.get(col.key, "")
        justify = "right" if col.kind != "text" else "left"
        at = col.title.lower().find(letter) if letter.islower() else -1
        if at >= 0:
            text = Text(col.title + (arrow or ""), justify=justify)
            text.stylize("underline", at, at + 1)
            return text
        label = f"{letter + ':' if letter else ''}{col.title}{arrow or ''}"
        return Text(label, justify=justify)

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
        """"new" or "freed" for a row highlighted this refresh, else ""."""
        return self._marks.get(key, "")

    def sync(self, rows: Sequence[Row], same_rows: bool = False) -> None:
        """Show exactly ``rows``, in order, touching only what changed.
        ``same_rows``: the caller knows only the order changed (a new sort)."""
        if same_rows and len(rows) == len(self._shown):
            self._reorder([r.key for r in rows])
            return
        keep = self.cursor_key
        clock = self.clock
        keep_index = self.cursor_row
        shown = self._shown
        kinds = self._kinds
        col_keys = self._col_keys
        updated = added = 0
        wanted: set[str] = set()
        rk_of = self._rk
        marks: dict[str, str] = {}
        # Many new rows (first fill, a filter cleared): insert them in one go;
        # the order is set for all rows at the end anyway.
        bulk = sum(1 for r in rows if r.key not in shown) > self.BULK
        parked = self._parked
        self._peak = max(self._peak, len(rows), len(shown))
        if len(parked) > 2 * self._peak:  # rows gone for good pile up: start over
            parked.clear()
        for r in rows:
            k = r.key
            wanted.add(k)
            if r.mark:
                marks[k] = r.mark
            old = shown.get(k)
            if old is None:
                park = parked.pop(k, None)
                if park is not None and park[0] == r.cells:
                    cells = park[1]
                else:
                    cells = [cell_text(v, t, clock) for v, t in zip(r.cells, kinds, strict=True)]
                if bulk:
                    rk = RowKey(k)
                    self._data[rk] = dict(zip(col_keys, cells, strict=True))
                    self.rows[rk] = Row_(rk, 1)
                    self._row_locations[rk] = len(self._row_locations)
                else:
                    rk = self.add_row(*cells, key=k)
                self._rk[k] = rk
                added += 1
            elif old != r.cells:
                rk = rk_of[k]
                for i, (a, b) in enumerate(zip(old, r.cells, strict=True)):
                    if a != b:
                        self.update_cell(rk, col_keys[i], cell_text(b, kinds[i], clock))
                        updated += 1
            else:
                continue
            shown[k] = r.cells
        if bulk:
            self._update_count += 1
            self._require_update_dimensions = True
            self.check_idle()
        gone = [k for k in shown if k not in wanted]
        self._remove(gone)
        self._marks = marks
        self.last_sync = (updated, added, len(gone))
        self._reorder([r.key for r in rows], keep, keep_index)

    def _reorder(
        self, keys: list[str], keep: str | None = None, keep_index: int | None = None
    ) -> None:
        """Put the rows in ``keys`` order; the cursor follows its row."""
        if keep_index is None:
            keep, keep_index = self.cursor_key, self.cursor_row
        self._set_order(keys)
        if keep is not None and keep in self._rk:
            index = self._row_locations.get(self._rk[keep])
        else:
            index = min(keep_index, max(0, self.row_count - 1))
        if self.row_count and index is not None and index != self.cursor_row:
            self.move_cursor(row=index, animate=False)

    def _remove(self, keys: list[str]) -> None:
        """Drop rows (the order is rebuilt by ``_set_order`` right after)."""
        parked = self._parked
        data = self._data
        for k in keys:
            rk = self._rk.pop(k)
            parked[k] = (self._shown.pop(k), list(data[rk].values()))
            del self.rows[rk]
            del self._data[rk]
            self._new_rows.discard(rk)
            for ck in self._col_keys:
                self._updated_cells.discard((rk, ck))  # type: ignore[arg-type]
        if keys:
            self._require_update_dimensions = True

    def _set_order(self, keys: list[str]) -> None:
        rk = self._rk
        old = self._row_locations
        resized = len(old) != len(keys)
        order = {rk[k]: i for i, k in enumerate(keys)}
        if not resized and order == old._forward:
            return
        self._row_locations = TwoWayDict(order)
        self._update_count += 1
        self.cursor_coordinate = self.cursor_coordinate  # clamp
        self.hover_coordinate = Coordinate(0, 0)
        if resized:
            self._require_update_dimensions = True
            self.check_idle()
        self.refresh()

    def _update_dimensions(self, new_rows: object) -> None:
        # Widths are fixed and rows are one line: nothing to measure, only the
        # virtual size to set (the stock method measures every new row).
        self._new_rows.clear()
        super()._update_dimensions(())

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        # The stock method renders Styled(Padding(cell)) through the console
        # (~100 us a cell); a one-line Text cell is simply cropped or padded.
        if row_index < 0 or column_index < 0 or self.fixed_columns or self.fixed_rows:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        cache_key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._cell_render_cache.get(cache_key)
        if cached is not None:
            return cached
        cell = self._data[row_key][column_key]
        if isinstance(cell, AgeCell):
            cell = cell.text()
        if not isinstance(cell, Text) or self.rows[row_key].height != 1:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pad = self.cell_padding
        inner = max(0, width - 2 * pad)
        text = cell
        if "\n" in text.plain:
            text = text.split("\n", allow_blank=True)[0]
        length = text.cell_len
        if length > inner:
            text = text.copy()
            text.truncate(inner, overflow=text.overflow or "ellipsis")
            length = text.cell_len
        segments = list(text.render(self.app.console))
        gap = inner - length
        if gap > 0:
            fill = Segment(" " * gap)
            if text.justify == "right":
                segments.insert(0, fill)
            else:
                segments.append(fill)
        blank = Segment(" " * pad)
        pre = base_style + Style.from_meta({"row": row_index, "column": column_index})
        line = list(
            Segment.apply_style(
                [blank, *segments, blank], style=pre + component_style, post_style=post_style
            )
        )
        lines = [line]
        self._cell_render_cache[cache_key] = lines
        return lines

    # Every row is one line high (rows are added with height=1), so a row's y
    # is its index: the stock methods below sum the heights of all rows above.
    @property
    def ordered_rows(self) -> Sequence[Row_]:  # type: ignore[override]
        return _OrderedRows(self)

    @property
    def _y_offsets(self) -> _YOffsets:  # type: ignore[override]
        return _YOffsets(self)

    def _get_row_region(self, row_index: int) -> Region:
        if not self.is_valid_row_index(row_index):
            return Region(0, 0, 0, 0)
        row_width = (
            sum(column.get_render_width(self) for column in self.columns.values())
            + self._row_label_column_width
        )
        y = row_index + (self.header_height if self.show_header else 0)
        return Region(0, y, max(self.size.width, row_width), 1)

    def _get_cell_region(self, coordinate: Coordinate) -> Region:
        if not self.is_valid_coordinate(coordinate):
            return Region(0, 0, 0, 0)
        row_index, column_index = coordinate
        x = (
            sum(c.get_render_width(self) for c in self.ordered_columns[:column_index])
            + self._row_label_column_width
        )
        column_key = self._column_locations.get_key(column_index)
        width = self.columns[column_key].get_render_width(self)
        y = row_index + (self.header_height if self.show_header else 0)
        return Region(x, y, width, 1)

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        style = super()._get_row_style(row_index, base_style)
        if self._marks and row_index >= 0:
            rk = self._row_locations.get_key(row_index)
            mark = self.mark_of(rk.value) if rk is not None and rk.value else None
            if mark:
                style = style + self.get_component_styles(f"difftable--{mark}").rich_style
        return style
