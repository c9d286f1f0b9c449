"""What a screen showing the session's data does when the app's ``data_version`` moves
(a scan landed, pause, a failure): the screen on top, or the one a dialog is over,
shows it now; the others when they come back (``on_screen_resume``)."""

from __future__ import annotations

from typing import cast

from textual.screen import ModalScreen, Screen

from dmabuf_top.analysis.history import Series
from dmabuf_top.tui.host import AppHost
from dmabuf_top.tui.widgets.header import SummaryHeader


class ShowsData(Screen[None]):
    """A screen with the summary header whose content follows the session's data."""

    #: mounted: it shows data (on_mount, then each time it changes)
    ready = False

    @property
    def dapp(self) -> AppHost:
        return cast("AppHost", self.app)

    def watch_data(self) -> None:
        """Mounted: follow the app's data from now on, and show it."""
        self.ready = True
        self.watch(self.app, "data_version", self._data_moved, init=False)
        self.data_changed()

    def _data_moved(self) -> None:
        stack = self.app.screen_stack
        if stack[-1] is self or (isinstance(stack[-1], ModalScreen) and stack[-2:-1] == [self]):
            self.data_changed()

    def show_header(self) -> None:
        """The header: the refresh's state over the data shown (its graph prepared)."""
        prep = self.dapp.session.prepared
        graph = prep.graph if prep is not None else Series([], [])
        self.query_one(SummaryHeader).show(self.dapp.refresher.header_state(), graph)

    def data_changed(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError
