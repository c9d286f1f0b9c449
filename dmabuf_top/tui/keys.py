"""Every key of the TUI in one place: the bindings are built from these
tables and the help screen lists them, so the two cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from dmabuf_top.tui.view_columns import COLUMNS, VIEW_NAMES, VIEW_TITLES


@dataclass(frozen=True)
class Key:
    keys: str  # Textual key names, comma-separated
    action: str
    help: str  # one line for the help screen
    label: str = ""  # footer label; empty: not in the footer
    shown: str = ""  # how the help screen writes the key
    priority: bool = False

    def binding(self) -> Binding:
        return Binding(
            self.keys,
            self.action,
            self.label or self.help,
            show=bool(self.label),
            key_display=self.shown.split(" ")[0] if self.shown and self.label else None,
            priority=self.priority,
        )


#: keys that work everywhere
GLOBAL_KEYS: list[Key] = [
    Key("q,f10", "quit", "quit", "Quit", shown="q F10"),
    Key("ctrl+c", "quit", "quit", shown="ctrl+c", priority=True),
    Key("question_mark,f1", "help", "this help", "Help", shown="? F1"),
    Key("space,p", "toggle_pause", "pause / resume refreshing", "Pause", shown="space p"),
    Key("plus", "interval(1)", "refresh less often (longer interval)", shown="+"),
    Key("minus", "interval(-1)", "refresh more often (shorter interval)", shown="-"),
    Key("ctrl+r,f5", "refresh_now", "refresh now", shown="ctrl+r F5"),
    Key("number_sign", "toggle_graphs", "hide / show the graphs", shown="#"),
    Key("t", "next_theme", "next colour theme", "Theme"),
    Key("x", "export", "export the snapshot shown to a YAML file", "Export"),
    Key("left_square_bracket", "step_sample(-1)", "recording: previous sample", shown="["),
    Key("right_square_bracket", "step_sample(1)", "recording: next sample", shown="]"),
    Key("home", "first_sample", "recording: first sample (else: top of the list)"),
    Key("end", "last_sample", "recording: last sample (else: bottom of the list)"),
    Key("ctrl+p", "command_palette", "command palette (export, themes, views…)"),
]

#: keys of the main screen (the four tables)
MAIN_KEYS: list[Key] = [
    Key("1", "view('buffers')", "Buffers view", shown="1"),
    Key("2", "view('processes')", "Processes view", shown="2"),
    Key("3", "view('exporters')", "Exporters view", shown="3"),
    Key("4", "view('suspects')", "Suspects view: what kept growing over the last samples",
        "Suspects", shown="4"),
    Key("less_than_sign", "suspect_window(-1)",
        "suspects: look at fewer samples (shorter window)", shown="<"),
    Key("greater_than_sign", "suspect_window(1)",
        "suspects: look at more samples (longer window)", shown=">"),
    # priority: handled as soon as the app reads it, so the keys typed right
    # after it (already queued) reach the filter input, not the table
    Key("slash,f3,f4", "filter", "filter: text matches anywhere, re:PATTERN a regex", "Filter",
        shown="/ F3 F4", priority=True),
    Key("escape", "clear_filter", "clear the filter", shown="Esc"),
    Key("enter", "open", "open: buffer details / process buffers / buffers of an exporter or name",
        shown="Enter"),
]

#: keys of the detail panes
DETAIL_KEYS: list[Key] = [
    Key("escape,backspace", "back", "back", "Back", shown="Esc"),
]

#: keys of the tables themselves (widgets/live_table.py)
TABLE_KEYS: list[tuple[str, str]] = [
    ("↑ ↓ PgUp PgDn", "move"),
    ("g ctrl+home", "first row"),
    ("G ctrl+end", "last row"),
    ("click a header", "sort by that column (again: reverse)"),
]

#: sort keys shadowed by a global key use their capital only
RESERVED = {k for key in GLOBAL_KEYS for k in key.keys.split(",") if len(k) == 1}


def sort_letters() -> list[str]:
    letters: set[str] = set()
    for cols in COLUMNS.values():
        letters.update(c.letter for c in cols if c.letter)
    return sorted(letters)


def sort_bindings() -> list[Binding]:
    out = []
    for letter in sort_letters():
        if letter not in RESERVED:
            out.append(Binding(letter, f"sort('{letter}')", f"sort {letter}", show=False))
        out.append(Binding(letter.upper(), f"sort('{letter}')", f"sort {letter}", show=False))
    return out


def sort_keys(view: str) -> dict[str, str]:
    """The key that sorts each column of ``view`` (its capital when a global
    key has the letter), by column key."""
    return {
        c.key: c.letter.upper() if c.letter in RESERVED else c.letter
        for c in COLUMNS[view]
        if c.letter
    }


def sort_help(view: str) -> list[tuple[str, str]]:
    out = []
    for c in COLUMNS[view]:
        if c.letter:
            key = c.letter.upper() if c.letter in RESERVED else f"{c.letter} {c.letter.upper()}"
            out.append((key, c.title))
    return out


def help_sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """(title, [(keys, what)]) for the help screen."""

    def rows(keys: list[Key]) -> list[tuple[str, str]]:
        return [(k.shown or k.keys, k.help) for k in keys]

    sections = [
        ("Everywhere", rows(GLOBAL_KEYS)),
        ("Tables", rows(MAIN_KEYS) + TABLE_KEYS),
        ("Detail panes", rows(DETAIL_KEYS)),
    ]
    for view in VIEW_NAMES:
        sections.append(
            (f"Sort {VIEW_TITLES[view]} (again: reverse)", sort_help(view))
        )
    return sections
