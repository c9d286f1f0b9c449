"""Table cells: untrusted text as ``Text`` (never markup), numbers right-aligned, and
ages computed when painted from a fixed first-seen time."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

from dmabuf_top.tui.view_columns import human_age


class Clock:
    """The time the table's ages are measured to (the snapshot's time)."""

    def __init__(self) -> None:
        self.now: float | None = None


class AgeCell:
    """An age, computed when painted from a fixed first-seen time: the cell's
    value never changes, so an ageing row costs no update."""

    __slots__ = ("first", "clock")

    def __init__(self, first: float | None, clock: Clock) -> None:
        self.first = first
        self.clock = clock

    def text(self) -> Text:
        now = self.clock.now
        age = None if self.first is None or now is None else now - self.first
        return Text(human_age(age), justify="right", no_wrap=True, end="")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.text()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, 7)


def cell_text(value: str, kind: str, clock: Clock | None = None) -> Text | AgeCell:
    """A cell: always ``Text`` (never markup), numbers right-aligned."""
    if kind == "age":
        return AgeCell(float(value) if value else None, clock or Clock())
    if kind == "text":
        return Text(value, overflow="ellipsis", no_wrap=True)
    return Text(value, justify="right", no_wrap=True)
