"""The filter bar under the table: ``/`` and an Input whose text is a row filter; it tells
the screen each new filter, and when the user is done typing. A bad regex marks the Input
and says, beside it, why and what is shown: the last valid filter stays."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label

from dmabuf_top.report.row_order import FilterError, RowFilter
from dmabuf_top.textsafe import printable


class FilterBar(Horizontal):
    """Shown while a filter is typed or kept; hidden when cleared."""

    class Changed(Message):
        """The text is a new filter: ``row_filter`` (None: every row)."""

        def __init__(self, row_filter: RowFilter | None) -> None:
            super().__init__()
            self.row_filter = row_filter

    class Done(Message):
        """Enter: the filter is kept (an empty one hides the bar)."""

    def compose(self) -> ComposeResult:
        yield Label("/", id="filter-label")
        yield Input(placeholder="text, or re:REGEX  (Enter: keep, Esc: clear)", id="filter")
        yield Label("", id="filter-error")

    #: the text of the filter applied (the last valid one)
    applied = ""

    @property
    def input(self) -> Input:
        return self.query_one("#filter", Input)

    def open(self) -> None:
        """Show the bar, the typing going to it."""
        self.display = True
        # set_focus, not focus(): focus() is deferred, and keys typed right
        # after "/" (a fast typist, a busy machine) would still go to the table
        self.screen.set_focus(self.input)

    def set_text(self, text: str) -> None:
        """Filter by ``text`` (shown when there is one)."""
        self.display = bool(text)
        self.input.value = text  # posts Input.Changed -> Changed

    def clear(self) -> bool:
        """Hide the bar and empty it; whether it held text."""
        inp = self.input
        self.display = False
        inp.remove_class("-invalid")
        self._say_error("")
        held = bool(inp.value)
        inp.value = ""
        self.applied = ""
        return held

    def _say_error(self, text: str) -> None:
        error = self.query_one("#filter-error", Label)
        error.update(Content(text))
        error.display = bool(text)

    @on(Input.Changed, "#filter")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        text, inp = event.value, event.input
        try:
            flt = RowFilter(text) if text else None
        except FilterError as e:
            inp.add_class("-invalid")
            inp.tooltip = str(e)
            kept = f"still filtering by '{printable(self.applied)}'" if self.applied else (
                "no filter: every row shown")
            self._say_error(f"{e}; {kept}")
            return
        inp.remove_class("-invalid")
        inp.tooltip = None
        self._say_error("")
        self.applied = flt.text if flt is not None and flt.active else ""
        self.post_message(self.Changed(flt if flt is not None and flt.active else None))

    @on(Input.Submitted, "#filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value:
            self.display = False
        self.post_message(self.Done())
