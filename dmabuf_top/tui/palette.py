"""The app's own commands in the ctrl+p command palette."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import SystemCommand
from textual.screen import Screen

from dmabuf_top.report.live_columns import VIEW_NAMES, VIEW_TITLES
from dmabuf_top.tui.host import AppHost
from dmabuf_top.tui.screens.export_dir import save_screenshot
from dmabuf_top.tui.screens.main import MainScreen


def dmabuf_commands(app: AppHost, screen: Screen) -> Iterable[SystemCommand]:
    """Export, pause, graphs, theme, setup, and (on the main screen) sort, tree and
    each view."""
    yield SystemCommand(
        "Export snapshot", "Write the snapshot shown to a YAML file here", app.action_export
    )
    yield SystemCommand(
        "Export snapshot to…", "Choose a directory for the YAML file", app.action_export_to
    )
    yield SystemCommand(
        "Screenshot", "Save an SVG of the screen to the export directory",
        lambda: app.set_timer(0.1, lambda: save_screenshot(app)),  # (once the palette shut)
    )
    yield SystemCommand("Pause / resume", "Freeze the screen (scanning goes on) or show the newest",
                        app.action_toggle_pause)
    yield SystemCommand("Toggle graphs", "Hide or show sparklines", app.action_toggle_graphs)
    yield SystemCommand("Next dmabuf-top theme", "Cycle colour themes", app.action_next_theme)
    yield SystemCommand(
        "Setup", "Columns, theme, refresh interval, units (saved)", app.action_setup
    )
    if isinstance(screen, MainScreen):
        yield SystemCommand("Sort by…", "Choose the sort column", screen.action_sort_menu)
        yield SystemCommand("Process tree", "Processes under their parents", screen.action_tree)
        for view in VIEW_NAMES:
            yield SystemCommand(
                f"View: {VIEW_TITLES[view]}",
                f"Show the {view} table",
                lambda v=view: screen.action_view(v),
            )
