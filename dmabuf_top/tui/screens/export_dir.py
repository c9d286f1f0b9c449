"""Exporting the snapshot shown (``x``, or the palette's "Export snapshot to…", which
asks for a directory first), and the palette's Screenshot (an SVG of the screen, into
the same directory); the result is a notification."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.export import export_screenshot, export_snapshot
from dmabuf_top.textsafe import printable, shown_line
from dmabuf_top.tui.host import AppHost


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


def export_shown(app: AppHost, directory: str | None = None) -> None:
    """Write the snapshot shown into ``directory`` (default: the app's export dir)."""
    prep = app.session.prepared
    if prep is None:
        app.notify("nothing to export yet", severity="warning")
        return
    try:
        path = export_snapshot(prep.snap, directory or app.export_dir)
    except SnapshotError as e:
        app.notify(
            shown_line(str(e)), title="export failed", severity="error", timeout=8, markup=False
        )
        return
    app.notify(printable(str(path)), title="snapshot written", timeout=8, markup=False)


def save_screenshot(app: AppHost) -> None:
    """An SVG of the screen into the app's export directory (where ``x`` writes)."""
    try:
        path = export_screenshot(app.export_screenshot(), app.export_dir)
    except SnapshotError as e:
        app.notify(shown_line(str(e)), title="screenshot failed", severity="error", timeout=8,
                   markup=False)
        return
    app.notify(printable(str(path)), title="screenshot written", timeout=8, markup=False)


def ask_export_dir(app: AppHost) -> None:
    """Ask for a directory, then export there."""

    def done(directory: str | None) -> None:
        if directory:
            export_shown(app, directory)

    app.push_screen(ExportDirScreen(str(app.export_dir)), done)
