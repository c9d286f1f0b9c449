"""What a table tells its screen: the base of its messages (a row or a title picked)."""

from __future__ import annotations

from textual.message import Message
from textual.widget import Widget


class TableMessage(Message):
    """Something the user picked in a table: ``key`` names it."""

    def __init__(self, table: Widget, key: str) -> None:
        super().__init__()
        self.table = table
        self.key = key

    @property
    def control(self) -> Widget:
        return self.table
