"""The help screen (``?`` / F1): every key, from the same tables as the bindings."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from dmabuf_top.textsafe import shown_line
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
    ("", "across the last N samples (( )) without ever falling back"),
    ("BYTES/MIN …", "growth rate since SINCE, the sample before it started growing;"),
    ("", "PSS splits shared buffers among their holders; FOR: how long it grew"),
    ("new / freed", "highlighted: appeared at the last refresh; struck: just freed"),
]


def help_rows(warnings: list[str] | None = None) -> list[tuple[str, str, str]]:
    """(kind, left, right) lines of the help: "title" (left only), "key" (the keys, what
    they do), "column" (a column's name, what it shows), "warning" (left only)."""
    out: list[tuple[str, str, str]] = []
    if warnings:
        out.append(("title", "Warnings from the last scan", ""))
        out += [("warning", shown_line(w), "") for w in warnings]
    for title, rows in help_sections():
        out.append(("title", title, ""))
        out += [("key", keys, what) for keys, what in rows]
    out.append(("title", "Columns", ""))
    out += [("column", name, what) for name, what in COLUMNS_HELP]
    return out


def help_text(warnings: list[str] | None = None) -> str:
    """The help as plain text, one line per row."""
    return "\n".join(f"{left:<18} {right}".rstrip() for _, left, right in help_rows(warnings))


class HelpScreen(ModalScreen[None]):
    """Each row is a keys cell and a text cell side by side, so a line that wraps keeps
    its indent (the text cell wraps within itself)."""

    BINDINGS = [Binding("escape,q,question_mark,f1,h", "dismiss", "Close", show=False)]

    def __init__(self, warnings: list[str] | None = None) -> None:
        super().__init__()
        self.warnings = list(warnings or [])

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(
                Content.assemble(("dmabuf-top keys", "bold"), ("  (Esc closes)", "$text-muted")),
                id="help-title",
            )
            # Content(str), never a str: a warning's text is not markup
            for kind, left, right in help_rows(self.warnings):
                if kind in ("title", "warning"):
                    yield Static(Content(left), classes=f"help-{kind}")
                    continue
                with Horizontal(classes="help-row"):
                    yield Static(Content(left), classes=f"help-{kind}")
                    yield Static(Content(right), classes="help-what")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
