"""The table of one view, on Textual's line API: a ScrollView that paints only the rows in
sight, each row's line built once per change and cached (a repaint reuses it);
``sync(rows)`` brings it up to date by key (only changed rows are rendered again, the
cursor stays on its row), a click on a title sorts, and the columns fit the width
(:mod:`dmabuf_top.tui.table.layout`: the last one takes what is left)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import ClassVar

from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from dmabuf_top.report.columns import Column
from dmabuf_top.report.live_rows import Row, SyncPlan
from dmabuf_top.tui.table.layout import (
    TONES,
    RowStyles,
    age_strip,
    around_age,
    choose,
    header_segments,
    row_strip,
    row_styles,
    text_width,
)
from dmabuf_top.tui.table.message import TableMessage
from dmabuf_top.tui.table.state import TableRows, TableState


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

    # Home/End: the first / last row, as in htop (a recording steps with [ ] { }: the app's).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home,g", "scroll_top", "Top", show=False),
        Binding("end,ctrl+end,G", "scroll_bottom", "Bottom", show=False),
    ]

    class RowSelected(TableMessage):
        """Enter, or a click on the cursor's row: open the row ``key``."""

    class HeaderSelected(TableMessage):
        """A click on a column's title: sort by the column ``key``."""

    def __init__(
        self,
        columns: Sequence[Column] | None = None,
        *,
        sets: Sequence[str] | None = None,
        letters: dict[str, str] | None = None,
        state: TableState | None = None,
        id: str | None = None,
    ) -> None:
        """``columns``: one per cell of a row. ``sets``: the column sets to show, widest
        first (:func:`~dmabuf_top.tui.table.layout.choose`); default: all columns.
        ``letters``: the sort key written in each column's title, by column key.
        Or ``state``: a table's state made beforehand (:meth:`show` swaps in another)."""
        super().__init__(id=id)
        if state is None:
            state = TableState(columns or [], sets, letters)
        #: what the table shows: its columns, rows, cursor (and its painted lines)
        self.state = state
        self._styles: RowStyles | None = None
        #: counts the styles looked up; a state's lines are from the styles of its serial
        self._styles_serial = 0

    def show(self, state: TableState) -> None:
        """Show ``state`` in place of the state shown: its rows, cursor and scroll
        position as they were left; its lines as painted, when for this width."""
        if state is self.state:
            return
        self.state.scroll = (self.scroll_offset.x, self.scroll_offset.y)
        self.state = state
        self._set_virtual_size()
        self.scroll_to(*state.scroll, animate=False, immediate=True)
        self.refresh()

    # -- what the screens read ------------------------------------------------
    @property
    def rows(self) -> TableRows:
        return self.state.rows

    @property
    def hidden(self) -> frozenset[str]:
        """The columns left out."""
        return self.state.hidden

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor."""
        return self.state.cursor_key

    def keys(self) -> list[str]:
        """Row keys in display order."""
        return list(self.rows.keys)

    # -- columns --------------------------------------------------------------
    def hide_columns(self, keys: Collection[str]) -> None:
        """Leave out the columns ``keys`` (they carry nothing for this source)."""
        if self.state.hide_columns(keys):
            self._refit()

    def use_sets(self, sets: Sequence[str]) -> None:
        """Show the column sets ``sets`` (widest first) from now on."""
        if self.state.use_sets(sets):
            self._refit()

    def state_changed(self) -> None:
        """The state shown was changed by its own methods (columns, sort arrow): fit it
        and paint it again."""
        self._refit()

    def _least_widths(self) -> dict[str, int]:
        label = self.state.label
        return {c.key: text_width(label(c, arrow=False)[0]) + 1 for c in self.state.spec}

    def _refit(self) -> None:
        self.state.fitted_to = -1
        if self.is_mounted and self.size.width:
            self._fit(self.scrollable_content_region.width)
        self.refresh()

    def _fit(self, width: int, now: bool = True) -> None:
        """Choose the layout for ``width`` cells; cached lines are stale when the
        layout or the styles changed (a new sort arrow alone redraws the header)."""
        state = self.state
        layout, least = choose(state.spec, state.sets, width, state.hidden, self._least_widths())
        if self._styles is None:  # (a new theme, focus: notify_style_update)
            self._styles = row_styles(self.rich_style, self.get_component_rich_style)
            self._styles_serial += 1
        if layout != state.layout or state.styles_serial != self._styles_serial:
            state.lines.clear()
            state.around_age.clear()
            state.styles_serial = self._styles_serial
        state.layout = layout
        state.fitted_to = width
        state.header = None
        if least != state.least:
            state.least = least
            if now:
                self._set_virtual_size()
            else:  # while painting: after this frame
                self.call_after_refresh(self._set_virtual_size)

    def _set_virtual_size(self) -> None:
        size = Size(self.state.least, len(self.rows) + 1)
        if size != self.virtual_size:
            self.virtual_size = size

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if width != self.state.fitted_to:  # (a new height alone: the lines still fit)
            self._fit(width)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.state.fitted_to = -1  # the next paint fits again: lines, header, colours anew
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
        state = self.state
        keep, keep_row = state.cursor_key, state.cursor
        stale = state.rows.update(rows, same_rows, plan)
        if len(stale) >= len(state.lines):  # (the first rows: no loop of 10,000 discards)
            state.lines.clear()
            state.around_age.clear()
        else:
            for key in stale:
                state.lines.discard(key)
                state.around_age.discard(key)
        keys = state.rows.keys
        if keep is not None and keep in state.rows.cells:
            state.cursor = keys.index(keep)
        else:
            state.cursor = min(keep_row, max(0, len(keys) - 1))
        self._set_virtual_size()
        if state.cursor != keep_row or keep != state.cursor_key:
            self._scroll_to_cursor()
        self.refresh()

    # -- painting -----------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        state = self.state
        width = self.scrollable_content_region.width
        if (width != state.fitted_to or state.layout is None or self._styles is None
                or state.styles_serial != self._styles_serial):
            self._fit(width, now=False)
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            strip = self._header_strip()
        else:
            row = scroll_y + y - 1
            if row >= len(state.rows.keys):
                return Strip.blank(width, self._base_style)
            strip = self._row_strip(row)
        if scroll_x == 0 and strip.cell_length == width:
            return strip
        return strip.crop_extend(scroll_x, scroll_x + width, self._base_style)

    @property
    def _base_style(self) -> Style:
        return self._styles.base if self._styles is not None else self.rich_style

    def _header_strip(self) -> Strip:
        state = self.state
        if state.header is None:
            assert state.layout is not None
            style = self.get_component_rich_style("live-table--header")
            titles = [state.label(s.column) for s in state.layout.slots]
            state.header = Strip(header_segments(state.layout, titles, style)).simplify()
        return state.header

    def _row_strip(self, row: int) -> Strip:
        state = self.state
        assert state.layout is not None
        key = state.rows.keys[row]
        at = state.layout.age_at
        if state.now != state.lines_now:
            if at is not None:  # every age moved on (the rest of each line kept)
                state.lines.clear()
            state.lines_now = state.now
        if row == state.cursor:
            return self._make_strip(key, cursor=True)
        strip = state.lines.get(key)
        if strip is None:
            mark = state.rows.marks.get(key)
            if at is None or mark == "freed" or self._styles is None:
                strip = self._make_strip(key)
            else:  # the line around its age made once, the age at each refresh
                cells = state.rows.cells[key]
                around = state.around_age.get(key)
                if around is None:
                    around = state.around_age[key] = around_age(
                        state.layout, at, cells, self._styles, mark)
                strip = age_strip(state.layout, at, cells, state.now, self._styles, around,
                                  mark)
            state.lines[key] = strip
        return strip

    def _make_strip(self, key: str, cursor: bool = False) -> Strip:
        state = self.state
        assert state.layout is not None and self._styles is not None
        return row_strip(state.layout, state.rows.cells[key], state.now, self._styles,
                         state.rows.marks.get(key), cursor)

    # -- the cursor -------------------------------------------------------------
    @property
    def _rows_in_view(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_cursor(self, row: int, animate: bool = False, scroll: bool = True) -> None:
        """Put the cursor on ``row`` (clamped); ``scroll``: into view."""
        row = max(0, min(row, len(self.rows.keys) - 1))
        old, self.state.cursor = self.state.cursor, row
        if old != row:
            self.refresh_line(old + 1)
            self.refresh_line(row + 1)
        if scroll:
            self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        top, view, row = self.scroll_offset.y, self._rows_in_view, self.state.cursor
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + view:
            self.scroll_to(y=row - view + 1, animate=False)
        self._cursor_into_parent_view()

    def _cursor_into_parent_view(self) -> None:
        """A table in a pane that scrolls (a buffer's holders at 80x24): the pane
        scrolls to keep the cursor's line on screen, as the table itself would."""
        parent = self.parent
        if not isinstance(parent, Widget) or not parent.allow_vertical_scroll:
            return
        box = self.virtual_region
        line = 1 + self.state.cursor - self.scroll_offset.y  # (below the header)
        top = 0 if line == 1 else line  # the first row: its header too
        parent.scroll_to_region(Region(box.x, box.y + top, box.width, line - top + 1),
                                animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.state.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.state.cursor + 1)

    def action_page_down(self) -> None:
        page = self._rows_in_view
        self.scroll_to(y=self.scroll_offset.y + page, animate=False)
        self.move_cursor(self.state.cursor + page)

    def action_page_up(self) -> None:
        page = self._rows_in_view
        self.scroll_to(y=self.scroll_offset.y - page, animate=False)
        self.move_cursor(self.state.cursor - page)

    def to_top(self) -> None:
        """The cursor on the first row, the table scrolled to its top (a new order)."""
        self.move_cursor(0, scroll=False)
        self.scroll_to(0, 0, animate=False, immediate=True)

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
        if at is None or self.state.layout is None:
            return
        event.stop()
        if at.y == 0:
            slot = self.state.layout.slot_at(at.x + self.scroll_offset.x)
            if slot is not None:
                self.post_message(self.HeaderSelected(self, slot.column.key))
            return
        row = self.scroll_offset.y + at.y - 1
        if row < len(self.rows.keys):
            if row == self.state.cursor:
                self.post_message(self.RowSelected(self, self.rows.keys[row]))
            else:
                self.move_cursor(row)
