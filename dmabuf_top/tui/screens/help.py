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
    ("INODE EXPORTER", "the buffer's identity; the driver that made it"),
    ("SIZE REFS", "its size; its file references (fds + mappings + kernel)"),
    ("PROCS HOLDERS", "processes holding it by fd or mapping; AGE: since first seen"),
    ("RSS PSS", "each buffer held, in full / shared out among its holders"),
    ("Δ ΔRSS ΔBYTES", "change since first seen (Δ: new, or chg: size or holders)"),
    ("GROW ▲ Suspects", "grew across the last N samples (( )) without falling back"),
    ("BYTES/MIN …", "rate since SINCE (the sample before growth); FOR: how long"),
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
