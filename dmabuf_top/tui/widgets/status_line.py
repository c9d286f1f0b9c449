"""The status line over the footer: the app's one notice at a time (a new one replaces
the one shown, nothing piles up over the table), gone after its timeout; hidden, it
takes no row."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Static

#: seconds a notice stays when its sender gave no timeout
DEFAULT_TIMEOUT = 5.0


class StatusLine(Static):
    """One line; its class says the severity (-warning, -error)."""

    DEFAULT_CSS = """
    StatusLine {
        display: none;
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, id: str | None = "status-line") -> None:
        super().__init__("", id=id)
        self._timer: Timer | None = None

    def say(self, message: str, title: str = "", severity: str = "information",
            timeout: float | None = None, markup: bool = False) -> None:
        """Show ``title: message`` in place of what was shown, for ``timeout`` seconds
        (``markup``: the message is markup, else shown literally)."""
        body = Content.from_markup(message) if markup else Content(message)
        self.update(Content.assemble((f"{title}: ", "bold"), body) if title else body)
        for kind in ("information", "warning", "error"):
            self.set_class(kind == severity, f"-{kind}")
        self.display = True
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(timeout or DEFAULT_TIMEOUT, self.clear)

    def clear(self) -> None:
        self.update("")
        self.display = False


def status_line(stack: Sequence[Screen]) -> StatusLine | None:
    """The status line of the screen under the dialogs of ``stack``, once composed."""
    screen = next((s for s in reversed(stack) if not isinstance(s, ModalScreen)), None)
    lines = screen.query(StatusLine) if screen is not None else None
    return lines.first() if lines else None
