"""io/export.py: files named from their time, never over another; screenshots saved
so that librsvg (rsvg-convert) draws their columns where the terminal had them."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from dmabuf_top.io.export import export_screenshot, screenshot_text
from tests.support.svg_render import misplaced_runs


def rich_svg() -> str:
    """What Rich (Textual's screenshot) writes of a right-aligned table."""
    console = Console(record=True, width=60, file=io.StringIO())
    table = Table("PID", "COMM", "SIZE")
    for pid, comm, size in ((7, "weston", "55.7M"), (12345, "chromium", "464.0K")):
        table.add_row(str(pid), comm, size)
    table.columns[0].justify = table.columns[2].justify = "right"
    console.print(table)
    return console.export_svg(title="t")


def test_a_saved_screenshot_keeps_its_columns_in_librsvg(tmp_path):
    svg = rich_svg()
    checked, wrong = misplaced_runs(svg)
    assert checked and wrong, "Rich's own SVG should lose its leading spaces in librsvg"
    saved = export_screenshot(svg, tmp_path).read_text()
    assert misplaced_runs(saved) == (checked, [])


def test_screenshot_text_sets_preserve_once():
    svg = rich_svg()
    once = screenshot_text(svg)
    assert once.startswith('<svg xml:space="preserve" class="rich-terminal"')
    assert screenshot_text(once) == once and once.replace(' xml:space="preserve"', "") == svg
