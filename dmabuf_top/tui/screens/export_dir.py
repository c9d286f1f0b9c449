"""Ask for a directory to export the snapshot to (command palette)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class ExportDirScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, directory: str) -> None:
        super().__init__()
        self.directory = directory

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label("Export the snapshot shown to directory (Enter: write, Esc: cancel)")
            yield Input(value=self.directory, id="export-dir")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or self.directory)

    def action_cancel(self) -> None:
        self.dismiss(None)
