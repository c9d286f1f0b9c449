"""The main screen: header, the four views on tabs over one table (a view switch shows
that view's table state, no other layout), the filter bar."""

from __future__ import annotations

import re
from functools import partial

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static, Tab, Tabs

from dmabuf_top.io.settings import Settings
from dmabuf_top.report.live_columns import (
    COLUMNS,
    LAYOUTS,
    VIEW_NAMES,
    VIEW_TITLES,
    column,
    column_for_letter,
)
from dmabuf_top.report.row_order import ViewOrder, visible_rows
from dmabuf_top.textsafe import printable
from dmabuf_top.timefmt import parse_time
from dmabuf_top.tui.growth import buffers_filter
from dmabuf_top.tui.keys import MAIN_KEYS, sort_bindings, sort_keys, unavailable_bindings
from dmabuf_top.tui.preferences import choosable_columns, hidden_columns
from dmabuf_top.tui.process_tree import ProcessTree, build_tree
from dmabuf_top.tui.screens.empty_text import (
    apps_info,
    empty_reasons,
    suspects_empty,
    suspects_info,
)
from dmabuf_top.tui.screens.shows_data import ShowsData
from dmabuf_top.tui.screens.signal import ask_signal, can_signal
from dmabuf_top.tui.screens.sort_menu import SortMenu
from dmabuf_top.tui.screens.tree_actions import TreeActions
from dmabuf_top.tui.table.live_table import LiveTable
from dmabuf_top.tui.table.state import TableState
from dmabuf_top.tui.widgets.filter_bar import FilterBar
from dmabuf_top.tui.widgets.header import SummaryHeader
from dmabuf_top.tui.widgets.key_footer import KeyFooter
from dmabuf_top.tui.widgets.status_line import StatusLine


class MainScreen(TreeActions, ShowsData):
    """Buffers / Processes / Exporters / Suspects."""

    BINDINGS = [k.binding() for k in MAIN_KEYS] + sort_bindings() + unavailable_bindings()

    def __init__(self, settings: Settings | None = None) -> None:
        """``settings``: the view, sorts and hidden columns to start with."""
        super().__init__(id="main")
        settings = settings or Settings()
        self.view = settings.view or "buffers"
        #: per view, the columns the user hid (the setup screen)
        self.hidden: dict[str, list[str]] = dict(settings.hidden_columns)
        #: the Processes view shows the process tree (t / F5)
        self.process_tree = bool(settings.tree)
        #: the tree's folded branches (pids), and the tree last shown
        self.folded: set[int] = set()
        self._tree: ProcessTree | None = None
        self._stale: set[str] = set(VIEW_NAMES)
        #: each view's table (its rows, cursor, sort arrow, columns) in the one LiveTable
        self.states = {v: TableState(COLUMNS[v], LAYOUTS[v], sort_keys(v)) for v in VIEW_NAMES}
        #: per view: nothing to show (the table then gives its room to the reason)
        self._empty: dict[str, bool] = {}
        self._table = LiveTable(state=self.states[self.view], id="table")
        #: per view: (prepared, filter) last shown, to know when only the order changes
        self._synced: dict[str, tuple[int, str]] = {}

    @property
    def order(self) -> ViewOrder:
        """The one sort and filter state (the session's: the scan thread reads it)."""
        return self.dapp.session.order

    @property
    def sort(self) -> dict[str, tuple[str, bool]]:
        """Per view: (column key, reversed)."""
        return self.order.sort

    def compose(self) -> ComposeResult:
        yield SummaryHeader(id="header")
        with Vertical(id="views"):
            yield Tabs(*(Tab(VIEW_TITLES[v], id=f"tab-{v}") for v in VIEW_NAMES),
                       active=f"tab-{self.view}", id="view-tabs")
            yield Static("", id="suspects-info", classes="info")
            yield Static("", id="apps-info", classes="info")
            yield self._table
            yield Static("", id="empty", classes="empty")
        yield FilterBar(id="filter-bar")
        yield StatusLine()
        yield KeyFooter()

    def on_mount(self) -> None:
        for view in VIEW_NAMES:  # (the arrows read the one sort state, the session's)
            self.states[view].arrow = partial(self.order.arrow, view)
            self.hide_columns(view, self.hidden.get(view, []))
        self._show_tree_mode()
        self._show_info(self.view)
        self.table().state_changed()
        self.table().focus()
        self.watch_data()

    def table(self) -> LiveTable:
        """The table, showing the current view's state."""
        return self._table

    def state(self, view: str | None = None) -> TableState:
        """The table state of ``view`` (default: the current one), shown or not."""
        return self.states[view or self.view]

    def _state_changed(self, view: str) -> None:
        if view == self.view:
            self._table.state_changed()

    def _sort_changed(self, view: str) -> None:
        """▼/▲ moved on ``view``'s titles; its rows are sorted again at the next sync."""
        self.states[view].sort_changed()
        self._stale.add(view)
        self._state_changed(view)

    def hide_columns(self, view: str, keys: list[str]) -> None:
        """The user hides ``keys`` of ``view``; a single static snapshot has no history,
        so its live-only columns (which would stay empty) are hidden too."""
        session = self.dapp.session
        static = not (session.backend.live or session.is_recording)
        self.hidden[view] = list(keys)
        if not keys:
            del self.hidden[view]
        if self.states[view].hide_columns(hidden_columns(view, keys, static)):
            self._state_changed(view)

    def view_settings(self) -> Settings:
        """The view shown, the sort and the hidden columns of each view, tree or list."""
        hidden = {v: list(k) for v, k in self.hidden.items()}
        return Settings(view=self.view, sort=dict(self.sort), hidden_columns=hidden,
                        tree=self.process_tree)

    # -- data -------------------------------------------------------------
    def data_changed(self) -> None:
        """New data (or the header state changed): show it."""
        self.show_header()
        self._stale = set(VIEW_NAMES)
        self.sync()

    def on_screen_resume(self) -> None:
        if self.ready:
            self.data_changed()  # (what changed while another screen was on top)

    def sync(self) -> None:
        """Bring the table of the current view up to date."""
        view = self.view
        prep = self.dapp.session.prepared
        table = self.table()
        empty = self.query_one("#empty", Static)
        self._stale.discard(view)
        if view == "suspects":
            self.query_one("#suspects-info", Static).update(Content(suspects_info(self.dapp)))
        elif view == "apps":
            self.query_one("#apps-info", Static).update(Content(apps_info(self.dapp)))
        order = self.order.key(view)
        if prep is None:
            empty.update(Content(empty_reasons(self.dapp)))
            self._show_empty(True)
            return
        ready = prep.ordered.get(view)
        plan = None
        if ready is not None and ready[0] == order:
            rows, plan = ready[1], prep.plans.get(view)
        else:  # (sorted off the UI thread when the scan began after the change)
            rows = visible_rows(prep.rows[view], *self.order.of(view))
        tree = view == "processes" and self.process_tree
        if tree:  # a new order moves glyphs too: never only the order
            self._tree = build_tree(rows, prep.snap, self.folded)
            rows = self._tree.rows
        shown = (prep.serial, order[2], tree)
        with self.app.batch_update():
            table.state.now = parse_time(prep.snap.taken_at)
            table.sync(rows, same_rows=not tree and self._synced.get(view) == shown,
                       plan=None if tree else plan)
            self._synced[view] = shown
            # Content(str), never a str: that would be read as markup
            if view == "suspects" and not prep.rows[view]:
                empty.update(Content(suspects_empty(self.dapp)))
            elif not prep.snap.buffers:
                empty.update(Content(empty_reasons(self.dapp)))
            elif not rows and (flt := self.order.row_filter) is not None:
                text = printable(flt.text)
                empty.update(Content(f"No rows match the filter '{text}'.  Esc clears it."))
            self._show_empty(not prep.snap.buffers or not rows)

    def _show_info(self, view: str) -> None:
        """The line above the table that only the Suspects and Apps views have."""
        self.query_one("#suspects-info").display = view == "suspects"
        self.query_one("#apps-info").display = view == "apps"

    def _show_empty(self, empty: bool) -> None:
        """Nothing to show in the current view: its reason takes the table's room."""
        self._empty[self.view] = empty
        self.query_one("#empty", Static).display = empty
        self.query_one("#views").set_class(empty, "-empty")

    # -- views ------------------------------------------------------------
    def action_view(self, view: str) -> None:
        self.query_one(Tabs).active = f"tab-{view}"

    def action_suspect_window(self, direction: int) -> None:
        self.dapp.action_suspect_window(direction)

    @on(Tabs.TabActivated, "#view-tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        """A view switch: the one table shows the view's state (synced if stale)."""
        view = (event.tab.id or "tab-buffers").removeprefix("tab-")
        table = self.table()
        if view != self.view:
            self.view = view
            with self.app.batch_update():
                table.show(self.states[view])
                self._show_info(view)
                if view in self._stale:
                    self.sync()
                else:
                    self._show_empty(self._empty.get(view, False))
        self.set_focus(table)

    # -- sorting ----------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sort":
            return column_for_letter(self.view, str(parameters[0])) is not None
        if action == "filter":  # a "/" typed in the filter is part of the filter
            return not isinstance(self.focused, Input)
        if action == "fold":  # outside the tree: the app's keys (+ - the interval)
            return self.in_tree()
        if action == "events":  # shown (and working) when the session has events
            session = self.dapp.session
            return session.event_source is not None or bool(session.events)
        if action == "signal":  # F9 Kill only where processes can be signalled
            return can_signal(self.dapp)
        return True

    def action_events(self) -> None:
        """5: the events view (screens/events.py)."""
        from dmabuf_top.tui.screens.events import EventsScreen

        self.app.push_screen(EventsScreen(self.dapp.events_shown))

    def action_sort(self, letter: str) -> None:
        col = column_for_letter(self.view, letter)
        if col is not None:
            self.sort_by(col.key)

    def sort_by(self, key: str) -> None:
        """Sort the current view by ``key``; again on the same column reverses. As in
        htop, a new order starts at its top: the cursor on the first row."""
        self.order.sort_by(self.view, key)
        self._sort_changed(self.view)
        self.sync()
        self.table().to_top()

    def action_sort_menu(self) -> None:
        """F6 / < / >: pick the sort column from a list (the sorted one: reverse)."""
        key, rev = self.sort[self.view]
        hidden = self.state().hidden
        cols = [column(self.view, k) for k in choosable_columns(self.view) if k not in hidden]
        self.app.push_screen(
            SortMenu(VIEW_TITLES[self.view], cols, key, rev),
            lambda chosen: self.sort_by(chosen) if chosen else None,
        )

    def action_invert_sort(self) -> None:
        self.sort_by(self.sort[self.view][0])

    @on(LiveTable.HeaderSelected)
    def _header_clicked(self, event: LiveTable.HeaderSelected) -> None:
        event.stop()
        if event.table is self.table():
            self.sort_by(event.key)

    # -- filter -----------------------------------------------------------
    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    @on(FilterBar.Changed)
    def _filter_changed(self, event: FilterBar.Changed) -> None:
        """A new filter: its rows from the top (the cursor on the first)."""
        self.order.row_filter = event.row_filter
        self._stale = set(VIEW_NAMES)
        self.sync()
        self.table().to_top()

    @on(FilterBar.Done)
    def _filter_done(self) -> None:
        self.set_focus(self.table())

    def set_filter(self, text: str) -> None:
        self.query_one(FilterBar).set_text(text)  # -> Changed -> sync

    def action_clear_filter(self) -> None:
        if self.query_one(FilterBar).clear() or self.order.row_filter is not None:
            self.order.row_filter = None
            self._stale = set(VIEW_NAMES)
            self.sync()
            self.table().to_top()
        self.set_focus(self.table())

    # -- signals ----------------------------------------------------------
    def action_signal_unavailable(self) -> None:
        ask_signal(self.dapp, None)  # (says why not)

    def action_signal(self) -> None:
        """F9 / k: a signal to the process under the cursor (Processes view)."""
        if self.view != "processes":
            self.dapp.notify("k sends a signal to a process: in the Processes view, or in a"
                             " buffer's pane to its holder", severity="warning", timeout=4)
            return
        key = self.table().cursor_key
        ask_signal(self.dapp, int(key) if key is not None else None)

    # -- drill down -------------------------------------------------------
    def action_open(self) -> None:
        key = self.table().cursor_key
        if key is not None:
            self.open_key(self.view, key)

    @on(LiveTable.RowSelected)
    def _row_selected(self, event: LiveTable.RowSelected) -> None:
        event.stop()
        if event.table is self.table():
            self.open_key(self.view, event.key)

    def open_key(self, view: str, key: str) -> None:
        """Enter on a row: a buffer's or a process's pane; an exporter's buffers; an
        app's processes."""
        if view == "buffers":
            self.dapp.open_buffer(int(key))
        elif view == "processes":
            self.dapp.open_process(int(key))
        elif view == "suspects":
            self.open_suspect(key)
        elif view == "apps":  # its processes
            self.action_view("processes")
            self.set_filter(f"re:^{re.escape(key)}$")
        else:
            self.action_view("buffers")
            self.set_filter(f"re:^{re.escape(key)}$")

    def open_suspect(self, key: str) -> None:
        """A process: its pane; an exporter or a name pattern: its buffers;
        unnamed buffers: the Buffers view with flagged rows first."""
        prep = self.dapp.session.prepared
        row = next((r for r in prep.rows["suspects"] if r.key == key), None) if prep else None
        if row is None:
            return
        text = buffers_filter(row.obj)
        if text is None:
            self.dapp.open_process(int(row.obj.key))
            return
        self.action_view("buffers")
        self.set_filter(text)
        if not text:
            self.sort["buffers"] = ("grow", False)
            self._sort_changed("buffers")
