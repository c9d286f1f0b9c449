"""The table of one view, on Textual's line API: a ScrollView that paints only the rows in
sight, each row's line built once per change and cached (a repaint reuses it);
``sync(rows)`` brings it up to date by key (only changed rows are rendered again, the
cursor stays on its row), a click on a title sorts, and the columns fit the width
(:mod:`dmabuf_top.tui.table_layout`: the last one takes what is left)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import ClassVar

from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dmabuf_top.report.columns import Column
from dmabuf_top.tui.rows import Row
from dmabuf_top.tui.table_layout import (
    TONES,
    Layout,
    all_columns,
    choose,
    header_segments,
    text_width,
    title_label,
)
from dmabuf_top.tui.table_rows import SyncPlan, TableRows
from dmabuf_top.tui.widgets.table_message import TableMessage
from dmabuf_top.tui.widgets.table_paint import RowStyles, row_strip, row_styles

#: the sort arrows of a title
DOWN, UP = "▼", "▲"


class LiveTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows by key, in the order given; one line each under a header of titles."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "live-table--header",
        "live-table--cursor",
        "live-table--new",
        "live-table--freed",
        *(f"live-table--{tone}" for tone in TONES),
        "live-table--ancestor",
    }

    DEFAULT_CSS = """
    LiveTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        scrollbar-size-vertical: 1;
        & > .live-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .live-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .live-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus {
            background-tint: $foreground 5%;
            & > .live-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .live-table--header {
                background-tint: $foreground 5%;
            }
        }
    }
    """

    # Home/End are the app's (first/last sample of a recording, else top/bottom).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home,g", "scroll_top", "Top", show=False),
        Binding("ctrl+end,G", "scroll_bottom", "Bottom", show=False),
    ]

    class RowSelected(TableMessage):
        """Enter, or a click on the cursor's row: open the row ``key``."""

    class HeaderSelected(TableMessage):
        """A click on a column's title: sort by the column ``key``."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        sets: Sequence[str] | None = None,
        letters: dict[str, str] | None = None,
        id: str | None = None,
    ) -> None:
        """``columns``: one per cell of a row. ``sets``: the column sets to show, widest
        first (:func:`~dmabuf_top.tui.table_layout.choose`); default: all columns.
        ``letters``: the sort key written in each column's title, by column key."""
        super().__init__(id=id)
        self.spec = list(columns)
        self.sets = list(sets) if sets else all_columns(self.spec)
        self.letters = dict(letters or {})
        #: column keys not shown (live-only columns of a static source)
        self.hidden: frozenset[str] = frozenset()
        #: what age cells count up to (the snapshot's time, epoch seconds)
        self.now: float | None = None
        #: the rows, their cells and marks; what the last sync changed
        self.rows = TableRows([c.key for c in self.spec])
        self._cursor = 0
        self._sort: tuple[str, bool] | None = None
        self._layout: Layout | None = None
        self._fitted_to, self._least = -1, 0
        #: each row's line as last rendered (not under the cursor), by row key
        self._lines: LRUCache[str, Strip] = LRUCache(4096)
        self._lines_now: float | None = None
        self._header: Strip | None = None
        self._styles: RowStyles | None = None

    # -- what the screens read ------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self.rows.keys)

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor."""
        return self.rows.keys[self._cursor] if self.rows.keys else None

    @property
    def last_sync(self) -> tuple[int, int, int]:
        """Cells changed, rows added, rows removed by the last sync."""
        return self.rows.last_sync

    def keys(self) -> list[str]:
        """Row keys in display order."""
        return list(self.rows.keys)

    def mark_of(self, key: str) -> str:
        """"new" or "freed" for a row highlighted this refresh, else ""."""
        return self.rows.marks.get(key, "")

    def get_row(self, key: str) -> list[str]:
        """The cells of row ``key``, one per column (shown or not)."""
        return list(self.rows.cells[key])

    def get_cell(self, key: str, column: str) -> str:
        """The cell of row ``key`` in the column ``column`` (its text before fitting)."""
        return self.rows.cells[key][self.rows.column_keys.index(column)]

    def title(self, key: str) -> str:
        """Column ``key``'s title as the header writes it (sort key, arrow)."""
        col = self.spec[self.rows.column_keys.index(key)]
        return self._label(col)[0]

    @property
    def shown_columns(self) -> list[str]:
        """The keys of the columns shown now, left to right."""
        return self._layout.keys if self._layout is not None else []

    def column_x(self, key: str) -> int | None:
        """Where column ``key``'s title starts on the header line (None: not shown)."""
        x = self._layout.x_of(key) if self._layout is not None else None
        return None if x is None else x - self.scroll_offset.x

    # -- columns --------------------------------------------------------------
    def hide_columns(self, keys: Collection[str]) -> None:
        """Leave out the columns ``keys`` (they carry nothing for this source)."""
        hidden = frozenset(keys)
        if hidden != self.hidden:
            self.hidden = hidden
            self._refit()

    def use_sets(self, sets: Sequence[str]) -> None:
        """Show the column sets ``sets`` (widest first) from now on."""
        if list(sets) != self.sets:
            self.sets = list(sets)
            self._refit()

    def set_sort_marker(self, key: str, descending: bool) -> None:
        """Show ▼/▲ on the sorted column's title."""
        if self._sort != (key, descending):
            self._sort = (key, descending)
            self._refit()

    def _label(self, col: Column) -> tuple[str, int]:
        on = self._sort is not None and self._sort[0] == col.key
        arrow = (DOWN if self._sort[1] else UP) if on and self._sort else ""
        return title_label(col.title, self.letters.get(col.key, ""), arrow)

    def _least_widths(self) -> dict[str, int]:
        saved, self._sort = self._sort, None
        try:
            return {c.key: text_width(self._label(c)[0]) + 1 for c in self.spec}
        finally:
            self._sort = saved

    def _refit(self) -> None:
        self._fitted_to = -1
        if self.is_mounted and self.size.width:
            self._fit(self.scrollable_content_region.width)
        self.refresh()

    def _fit(self, width: int, now: bool = True) -> None:
        """Choose the layout for ``width`` cells; cached lines are stale when the
        layout or the styles changed (a new sort arrow alone redraws the header)."""
        layout, least = choose(self.spec, self.sets, width, self.hidden, self._least_widths())
        if self._styles is None:  # (a new theme, focus: notify_style_update)
            self._styles = row_styles(self.rich_style, self.get_component_rich_style)
            self._lines.clear()
        if layout != self._layout:
            self._lines.clear()
        self._layout = layout
        self._fitted_to = width
        self._header = None
        if least != self._least:
            self._least = least
            if now:
                self._set_virtual_size()
            else:  # while painting: after this frame
                self.call_after_refresh(self._set_virtual_size)

    def _set_virtual_size(self) -> None:
        size = Size(self._least, len(self.rows) + 1)
        if size != self.virtual_size:
            self.virtual_size = size

    def on_resize(self, event: events.Resize) -> None:
        self._fit(self.scrollable_content_region.width)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._fitted_to = -1  # the next paint fits again: lines, header, colours anew
        self._styles = None

    def on_focus(self, event: events.Focus | events.Blur) -> None:
        self.notify_style_update()
        self.refresh()

    on_blur = on_focus

    # -- rows -------------------------------------------------------------------
    def sync(
        self, rows: Sequence[Row], same_rows: bool = False, plan: SyncPlan | None = None
    ) -> None:
        """Show exactly ``rows``, in order; only rows whose cells or mark changed are
        rendered again. ``same_rows``: the caller knows only the order changed;
        ``plan``: what changed, worked out off the UI thread (TableRows.update)."""
        keep, keep_row = self.cursor_key, self._cursor
        stale = self.rows.update(rows, same_rows, plan)
        if len(stale) >= len(self._lines):  # (the first rows: no loop of 10,000 discards)
            self._lines.clear()
        else:
            for key in stale:
                self._lines.discard(key)
        keys = self.rows.keys
        if keep is not None and keep in self.rows.cells:
            self._cursor = keys.index(keep)
        else:
            self._cursor = min(keep_row, max(0, len(keys) - 1))
        self._set_virtual_size()
        if self._cursor != keep_row or keep != self.cursor_key:
            self._scroll_to_cursor()
        self.refresh()

    # -- painting -----------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if width != self._fitted_to or self._layout is None:
            self._fit(width, now=False)
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            strip = self._header_strip()
        else:
            row = scroll_y + y - 1
            if row >= len(self.rows.keys):
                return Strip.blank(width, self._base_style)
            strip = self._row_strip(row)
        if scroll_x == 0 and strip.cell_length == width:
            return strip
        return strip.crop_extend(scroll_x, scroll_x + width, self._base_style)

    @property
    def _base_style(self) -> Style:
        return self._styles.base if self._styles is not None else self.rich_style

    def _header_strip(self) -> Strip:
        if self._header is None:
            assert self._layout is not None
            style = self.get_component_rich_style("live-table--header")
            titles = [self._label(s.column) for s in self._layout.slots]
            self._header = Strip(header_segments(self._layout, titles, style)).simplify()
        return self._header

    def _row_strip(self, row: int) -> Strip:
        assert self._layout is not None
        key = self.rows.keys[row]
        if self.now != self._lines_now:
            if self._layout.has_kind("age"):  # every age moved on
                self._lines.clear()
            self._lines_now = self.now
        if row == self._cursor:
            return self._make_strip(key, cursor=True)
        strip = self._lines.get(key)
        if strip is None:
            strip = self._lines[key] = self._make_strip(key)
        return strip

    def _make_strip(self, key: str, cursor: bool = False) -> Strip:
        assert self._layout is not None and self._styles is not None
        return row_strip(self._layout, self.rows.cells[key], self.now, self._styles,
                         self.rows.marks.get(key), cursor)

    # -- the cursor -------------------------------------------------------------
    @property
    def _rows_in_view(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_cursor(self, row: int, animate: bool = False, scroll: bool = True) -> None:
        """Put the cursor on ``row`` (clamped); ``scroll``: into view."""
        row = max(0, min(row, len(self.rows.keys) - 1))
        old, self._cursor = self._cursor, row
        if old != row:
            self.refresh_line(old + 1)
            self.refresh_line(row + 1)
        if scroll:
            self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        top, view, row = self.scroll_offset.y, self._rows_in_view, self._cursor
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + view:
            self.scroll_to(y=row - view + 1, animate=False)

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_page_down(self) -> None:
        page = self._rows_in_view
        self.scroll_to(y=self.scroll_offset.y + page, animate=False)
        self.move_cursor(self._cursor + page)

    def action_page_up(self) -> None:
        page = self._rows_in_view
        self.scroll_to(y=self.scroll_offset.y - page, animate=False)
        self.move_cursor(self._cursor - page)

    def action_scroll_top(self) -> None:
        self.move_cursor(0)

    def action_scroll_bottom(self) -> None:
        self.move_cursor(len(self.rows.keys) - 1)

    def action_select_cursor(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def on_click(self, event: events.Click) -> None:
        at = event.get_content_offset(self)
        if at is None or self._layout is None:
            return
        event.stop()
        if at.y == 0:
            slot = self._layout.slot_at(at.x + self.scroll_offset.x)
            if slot is not None:
                self.post_message(self.HeaderSelected(self, slot.column.key))
            return
        row = self.scroll_offset.y + at.y - 1
        if row < len(self.rows.keys):
            if row == self._cursor:
                self.post_message(self.RowSelected(self, self.rows.keys[row]))
            else:
                self.move_cursor(row)
