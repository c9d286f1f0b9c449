"""The help screen (``?`` / F1): every key, from the same tables as the bindings."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from dmabuf_top.textsafe import printable
from dmabuf_top.tui.keys import help_sections

COLUMNS_HELP = [
    ("INODE", "the buffer's inode: its identity in /proc fdinfo, maps and debugfs"),
    ("EXPORTER", "the driver that made it (drm, a dma-heap name, videobuf2…)"),
    ("SIZE / REFS", "buffer size; file reference count (fds + mappings + kernel)"),
    ("PROCS / HOLDERS", "processes holding it by fd or mapping"),
    ("AGE", "time since first seen in this session"),
    ("RSS / PSS", "full size of each buffer held / size shared out among holders"),
    ("ΔRSS", "Rss change since the process was first seen"),
    ("Δ (Buffers)", "new: not there in the first sample; chg: size or holders changed since"),
    ("ΔBYTES", "an exporter's bytes change since the first sample"),
    ("GROW ▲", "a growth suspect (Buffers: its name has a suspect's pattern, # = digits)"),
    ("Suspects", "a process, exporter or name pattern whose bytes or buffer count grew"),
    ("", "across the last N samples (< >) without ever falling back"),
    ("BYTES/MIN …", "growth rate since SINCE, the sample before it started growing;"),
    ("", "PSS splits shared buffers among their holders; FOR: how long it grew"),
    ("new / freed", "highlighted: appeared at the last refresh; struck: just freed"),
]


def help_content(warnings: list[str] | None = None) -> Content:
    parts: list[tuple[str, str] | str] = []
    if warnings:
        parts += [("Warnings from the last scan", "bold $warning"), "\n"]
        for w in warnings:
            parts += ["  ", printable(w), "\n"]
        parts.append("\n")
    for title, rows in help_sections():
        parts += [(title, "bold $primary"), "\n"]
        for keys, what in rows:
            parts += [(f"  {keys:<18}", "bold $accent"), what, "\n"]
        parts.append("\n")
    parts += [("Columns", "bold $primary"), "\n"]
    for name, what in COLUMNS_HELP:
        parts += [(f"  {name:<18}", "bold"), what, "\n"]
    return Content.assemble(*parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", show=False)]

    def __init__(self, warnings: list[str] | None = None) -> None:
        super().__init__()
        self.warnings = list(warnings or [])

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(
                Content.assemble(("dmabuf-top keys", "bold"), ("  (Esc closes)", "$text-muted")),
                id="help-title",
            )
            yield Static(help_content(self.warnings), id="help-text")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
