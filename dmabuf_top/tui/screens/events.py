"""The events view (key 6): the most recent dma-buf events, newest first, in a LiveTable
sorted and filtered as the four views are (sort keys, a click on a title, ``/`` and
``re:``); live, the event source's reading thread wakes it with a message; in a
recording, the events up to the sample shown. Enter opens the event's buffer, or, gone,
a pane telling its life."""

from __future__ import annotations

import threading

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Static

from dmabuf_top.analysis.lifecycle import life_story
from dmabuf_top.report.events_report import clock_text
from dmabuf_top.report.row_order import RowFilter, visible_rows
from dmabuf_top.textsafe import printable
from dmabuf_top.tui.event_rows import (
    DEFAULT_SHOWN,
    EVENT_COLUMNS,
    EVENT_LAYOUTS,
    EventRows,
    column_for_letter,
    event_column,
)
from dmabuf_top.tui.keys import EVENTS_KEYS, sort_bindings, sort_key_of
from dmabuf_top.tui.screens.detail import DetailScreen, fields
from dmabuf_top.tui.table.live_table import LiveTable
from dmabuf_top.tui.table.state import TableState
from dmabuf_top.tui.widgets.filter_bar import FilterBar
from dmabuf_top.tui.widgets.header import SummaryHeader
from dmabuf_top.tui.widgets.key_footer import KeyFooter

#: the key that sorts each column, by column key (as the four views')
LETTERS = {c.key: k for c in EVENT_COLUMNS if (k := sort_key_of(c.letter))}


class EventsScreen(DetailScreen):
    """The recent events of the session (``shown`` at most)."""

    TABLE_ID = "events"
    BINDINGS = [k.binding() for k in EVENTS_KEYS] + sort_bindings([c.letter for c in EVENT_COLUMNS])

    class Arrived(Message):
        """The event source read new events (posted from its thread)."""

    def __init__(self, shown: int = DEFAULT_SHOWN) -> None:
        super().__init__(id="events-screen")
        self.shown = shown
        #: (column key, reversed): by time, newest first
        self.sort = ("time", False)
        self.row_filter: RowFilter | None = None
        self.state = TableState(EVENT_COLUMNS, EVENT_LAYOUTS, LETTERS, arrow=self._arrow)
        self._rows = EventRows()
        #: a wake-up is on its way (the reading thread posts one at a time)
        self._woken = threading.Event()

    def compose(self) -> ComposeResult:
        yield SummaryHeader(id="header")
        yield Static(id="detail-title", classes="detail-title")
        yield LiveTable(state=self.state, id="events")
        yield Static("", id="events-empty", classes="empty")
        yield FilterBar(id="filter-bar")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._mark_sort()
        source = self.dapp.session.event_source
        if source is not None:
            source.on_events = self._wake  # (then DetailScreen's: focus, data)

    def on_unmount(self) -> None:
        source = self.dapp.session.event_source
        if source is not None and source.on_events == self._wake:
            source.on_events = None

    # -- live: the reading thread wakes the screen ----------------------------
    def _wake(self) -> None:
        """Reading thread: one message at a time (the screen takes all that came)."""
        if not self._woken.is_set():
            self._woken.set()
            self.post_message(self.Arrived())

    @on(Arrived)
    def _arrived(self) -> None:
        self._woken.clear()
        self.dapp.session.take_events()
        if not self.dapp.refresher.paused:
            self.show_data()

    # -- data -------------------------------------------------------------------
    def show_data(self) -> None:
        session = self.dapp.session
        first, events = session.recent_events(self.shown)
        rows = self._rows.rows(first, events, session.raw_bytes)
        key, rev = self.sort
        shown = visible_rows(rows, event_column(key), rev, self.row_filter)
        table = self.query_one("#events", LiveTable)
        table.sync(shown)
        lost = session.events_lost
        where = "live" if session.event_source is not None else (
            f"up to sample {session.sample_index + 1}/{session.sample_count}"
            if session.is_recording else "")
        parts: list[tuple[str, str] | str] = [
            ("Events", "bold $primary"), "  ",
            f"{len(shown)} of the last {len(events)}" if self.row_filter else
            f"the last {len(events)}", f" (at most {self.shown})",
        ]
        if where:
            parts += ["  ", (where, "$accent")]
        parts += ["  ", (f"{lost} lost", "bold $error" if lost else "$text-muted")]
        self.query_one("#detail-title", Static).update(Content.assemble(*parts))
        empty = self.query_one("#events-empty", Static)
        if not shown:
            if events:
                text = f"No events match the filter '{printable(self.row_filter.text)}'." \
                    if self.row_filter else ""
            elif session.event_source is None and not session.events:
                text = "No dma-buf events in this session."
            else:
                text = "No dma-buf events yet."
            empty.update(Content(text + ("  Esc clears it." if self.row_filter else "")))
        empty.display = not shown
        table.display = bool(shown)

    # -- sorting ----------------------------------------------------------------
    def _arrow(self) -> tuple[str, bool]:
        """The sorted column and whether its title's arrow points down (the state's)."""
        key, rev = self.sort
        return key, event_column(key).descending != rev

    def _mark_sort(self) -> None:
        self.state.sort_changed()
        if self.is_mounted:
            self.query_one("#events", LiveTable).state_changed()

    def sort_by(self, key: str) -> None:
        """Sort by ``key``; again on the same column reverses."""
        old, rev = self.sort
        self.sort = (key, not rev if old == key else False)
        self._mark_sort()
        self.show_data()

    def action_sort(self, letter: str) -> None:
        col = column_for_letter(letter)
        if col is not None:
            self.sort_by(col.key)

    def action_invert_sort(self) -> None:
        self.sort_by(self.sort[0])

    @on(LiveTable.HeaderSelected, "#events")
    def _header_clicked(self, event: LiveTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(event.key)

    # -- filter -----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter":  # a "/" typed in the filter is part of the filter
            return not isinstance(self.focused, Input)
        return True

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def set_filter(self, text: str) -> None:
        self.query_one(FilterBar).set_text(text)

    @on(FilterBar.Changed)
    def _filter_changed(self, event: FilterBar.Changed) -> None:
        self.row_filter = event.row_filter
        self.show_data()

    @on(FilterBar.Done)
    def _filter_done(self) -> None:
        self.set_focus(self.query_one("#events", LiveTable))

    def action_back(self) -> None:
        """Esc: the filter cleared first, then back."""
        bar = self.query_one(FilterBar)
        if bar.clear() or self.row_filter is not None:
            self.row_filter = None
            self.show_data()
            self.set_focus(self.query_one("#events", LiveTable))
            return
        self.dismiss()

    def signal_target(self) -> int | None:
        """F9 / k: the process of the event under the cursor (if it is in the sample)."""
        key = self.query_one("#events", LiveTable).cursor_key
        row = self._rows.get(key) if key is not None else None
        return row.obj.pid if row is not None else None

    # -- Enter: the event's buffer --------------------------------------------------
    def action_open(self) -> None:
        key = self.query_one("#events", LiveTable).cursor_key
        if key is not None:
            self._open(key)

    @on(LiveTable.RowSelected, "#events")
    def _row_selected(self, event: LiveTable.RowSelected) -> None:
        event.stop()
        self._open(event.key)

    def _open(self, key: str) -> None:
        """The buffer's pane while it exists in the sample shown; else its life."""
        row = self._rows.get(key)
        if row is None:
            return
        inode = row.obj.inode
        prep = self.dapp.session.prepared
        if prep is not None and inode in prep.snap.buffers:
            self.dapp.open_buffer(inode)
        else:
            self.dapp.push_screen(GoneBufferScreen(inode))


class GoneBufferScreen(DetailScreen):
    """A buffer not in the sample shown (released, or made since its scan): says so,
    and tells its life."""

    TABLE_ID = ""
    BINDINGS = [k.binding() for k in EVENTS_KEYS[:1]]

    def __init__(self, inode: int) -> None:
        super().__init__(id=f"gone-{inode}")
        self.inode = inode

    def compose(self) -> ComposeResult:
        yield SummaryHeader(id="header")
        yield Static(id="detail-title", classes="detail-title")
        with VerticalScroll(id="detail-body"):
            yield Static("Life (dma-buf events)", classes="section", id="life-label")
            yield Static(id="life", classes="fields")
        yield KeyFooter()

    def show_data(self) -> None:
        story = self.dapp.session.buffer_story(self.inode)
        # released: gone; else made after the sample shown was scanned (or missed by it)
        gone = story is not None and story.released is not None
        title: list[tuple[str, str] | str] = [
            (f"Buffer {self.inode}", "bold $primary"), "  ",
            (" GONE " if gone else " NOT SCANNED ", "bold reverse $error"),
            "  not in the sample shown"]
        if story is not None:
            title[3:3] = ["  ", (printable(story.exporter or "?"), "$accent")]
        self.query_one("#detail-title", Static).update(Content.assemble(*title))
        lines = life_story(story, lambda t: clock_text(t)[:12]) if story is not None else []
        self.query_one("#life", Static).update(
            fields([("", ln) for ln in lines], 2) if lines
            else Content.styled("no events of it", "$text-muted"))
