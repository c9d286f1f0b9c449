"""The sort-by menu (F6, ``<``, ``>``, as in htop): the current view's columns in a list,
the sorted one highlighted; Enter sorts by the one chosen (the sorted one: reversed)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from dmabuf_top.report.columns import Column


class SortMenu(ModalScreen[str | None]):
    """Dismissed with the key of the column chosen, or None (Esc)."""

    BINDINGS = [Binding("escape,q,f6", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, columns: Sequence[Column], current: str, reverse: bool) -> None:
        super().__init__()
        self.view_title = title
        self.columns = list(columns)
        self.current = current
        self.reverse = reverse

    def compose(self) -> ComposeResult:
        options = []
        for c in self.columns:
            mark = ""
            if c.key == self.current:
                mark = "  ▼" if c.descending != self.reverse else "  ▲"
            options.append(Option(Content(c.title + mark), id=c.key))
        with Vertical(id="sort-box", classes="dialog"):
            yield Label(Content(f"Sort {self.view_title} by"), classes="dialog-title")
            yield OptionList(*options, id="sort-columns")
            yield Label(Content("Enter: sort (the sorted one: reverse)  Esc: cancel"),
                        classes="dialog-hint")

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        keys = [c.key for c in self.columns]
        menu.highlighted = keys.index(self.current) if self.current in keys else 0
        menu.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
