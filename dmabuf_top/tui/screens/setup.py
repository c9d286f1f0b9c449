"""The setup screen (F2 / ``S``, as in htop): the columns each view shows (a check list
per view), the colour theme, the refresh interval and the units of sizes. Every change
is applied at once; closing the screen saves the settings (io/settings.py's file)."""

from __future__ import annotations

from typing import cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Select, SelectionList

from dmabuf_top.report.live_columns import VIEW_NAMES, VIEW_TITLES, column
from dmabuf_top.textsafe import printable
from dmabuf_top.tui.host import AppHost
from dmabuf_top.tui.preferences import choosable_columns
from dmabuf_top.tui.refresher import INTERVALS
from dmabuf_top.tui.screens.main import MainScreen

UNIT_CHOICES = [("sizes: human (8.0M)", "human"), ("sizes: bytes (8388608)", "bytes")]


class SetupScreen(ModalScreen[None]):
    """Columns, theme, interval, units of the app behind it (its :class:`MainScreen`)."""

    BINDINGS = [Binding("escape,q,f2,f10", "close", "Close", show=False)]

    def __init__(self, main: MainScreen) -> None:
        super().__init__()
        self.main = main

    @property
    def dapp(self) -> AppHost:
        return cast("AppHost", self.app)

    def compose(self) -> ComposeResult:
        app = self.dapp
        with Vertical(id="setup-box", classes="dialog"):
            yield Label(Content("Setup: applied at once, saved on close (Esc)"),
                        classes="dialog-title")
            with Horizontal(id="setup-columns"):
                for view in VIEW_NAMES:
                    hidden = set(self.main.hidden.get(view, []))
                    sel = SelectionList[str](
                        *[(Content(column(view, k).title), k, k not in hidden)
                          for k in choosable_columns(view)],
                        id=f"setup-{view}", compact=True,
                    )
                    sel.border_title = VIEW_TITLES[view]
                    yield sel
            with Horizontal(id="setup-options"):
                names = [n for n in app.theme_cycle if n in app.available_themes]
                theme = app.theme if app.theme in names else Select.NULL
                yield Select([(Content(printable(n)), n) for n in names], value=theme,
                             allow_blank=False, id="setup-theme", compact=True)
                delays = sorted({*INTERVALS, app.delay})
                yield Select([(Content(f"every {d:g}s"), d) for d in delays], value=app.delay,
                             allow_blank=False, id="setup-interval", compact=True)
                units = "bytes" if app.session.raw_bytes else "human"
                yield Select([(Content(t), v) for t, v in UNIT_CHOICES], value=units,
                             allow_blank=False, id="setup-units", compact=True)
            yield Label(Content("Space: show/hide a column  Tab: next  Esc: close and save"),
                        classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(f"#setup-{self.main.view}", SelectionList).focus()

    @on(SelectionList.SelectedChanged)
    def _columns_changed(self, event: SelectionList.SelectedChanged) -> None:
        sel = event.selection_list
        view = (sel.id or "").removeprefix("setup-")
        if not sel.selected:  # the last column stays: a table shows at least one
            self.dapp.bell()
            sel.select(choosable_columns(view)[-1])
            return
        chosen = set(sel.selected)
        self.main.hide_columns(view, [k for k in choosable_columns(view) if k not in chosen])

    @on(Select.Changed, "#setup-theme")
    def _theme_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.dapp.theme:
            self.dapp.theme = event.value

    @on(Select.Changed, "#setup-interval")
    def _interval_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, float) and event.value != self.dapp.delay:
            self.dapp.set_refresh_interval(event.value)

    @on(Select.Changed, "#setup-units")
    def _units_changed(self, event: Select.Changed) -> None:
        self.dapp.set_units(event.value == "bytes")

    def action_close(self) -> None:
        self.dismiss(None)
