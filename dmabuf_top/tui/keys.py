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


# htop's keys mean what they mean in htop (F1 h help, F2 S setup, F3 / F4 \ filter,
# F5 t tree, + - * fold it, F6 < > sort by, F9 k kill, F10 q quit, Z pause, I invert,
# ctrl+l refresh);
# keys of dmabuf-top's own (theme, the suspects window) use keys htop leaves free.

#: keys that work everywhere
GLOBAL_KEYS: list[Key] = [
    # in the footer as in htop's: F1 Help, F2 Setup, ... F10 Quit
    Key("question_mark,f1,h", "help", "this help", "Help", shown="F1 ? h"),
    Key("f2,S", "setup", "setup: columns, theme, refresh interval, units", "Setup",
        shown="F2 S"),
    Key("q,f10", "quit", "quit (saves the settings)", "Quit", shown="F10 q"),
    Key("ctrl+c", "quit", "quit", shown="ctrl+c", priority=True),
    Key("space,p,Z", "toggle_pause", "pause / resume the screen (scanning goes on)", "Pause",
        shown="space p Z"),
    Key("plus", "interval(1)", "refresh less often (longer interval; the tree: unfold)",
        shown="+"),
    Key("minus", "interval(-1)", "refresh more often (shorter interval; the tree: fold)",
        shown="-"),
    Key("ctrl+l,ctrl+r", "refresh_now", "refresh now", shown="ctrl+l ctrl+r"),
    Key("number_sign", "toggle_graphs", "hide / show the graphs", shown="#"),
    Key("ctrl+t", "next_theme", "next colour theme", shown="ctrl+t"),
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
        shown="4"),
    Key("5", "view('apps')", "Apps view: Rss and Pss per app (Enter: its processes)", shown="5"),
    # priority: handled as soon as the app reads it, so the keys typed right
    # after it (already queued) reach the filter input, not the table
    Key("slash,f3,f4,backslash", "filter", "filter: text matches anywhere, re:PATTERN a regex",
        "Filter", shown="/ \\ F3 F4", priority=True),
    Key("f5,t", "tree", "Processes: tree of parents and children (again: sorted list)",
        "Tree", shown="F5 t"),
    # in the tree, as in htop; elsewhere + - fall through to the interval (GLOBAL_KEYS)
    Key("plus", "fold(False)", "tree: unfold the branch under the cursor", shown="+"),
    Key("minus", "fold(True)", "tree: fold the branch under the cursor (on a leaf: its parent's)",
        shown="-"),
    Key("asterisk", "fold_all", "tree: fold / unfold every branch (elsewhere: sort by, as F6)",
        shown="*"),
    Key("f6,less_than_sign,greater_than_sign", "sort_menu",
        "sort by: a list of the view's columns (Enter sorts; again: reverse)", "SortBy",
        shown="F6 < >"),
    Key("f9,k", "signal", "send a signal to the process (Processes view; live sources)",
        "Kill", shown="F9 k"),
    Key("I", "invert_sort", "invert the sort order", shown="I"),
    Key("left_parenthesis", "suspect_window(-1)",
        "suspects: look at fewer samples (shorter window)", shown="("),
    Key("right_parenthesis", "suspect_window(1)",
        "suspects: look at more samples (longer window)", shown=")"),
    Key("escape", "clear_filter", "clear the filter", shown="Esc"),
    Key("enter", "open", "open: buffer details / process buffers / buffers of an exporter or name",
        shown="Enter"),
]

#: keys of the detail panes
DETAIL_KEYS: list[Key] = [
    Key("escape,backspace", "back", "back", "Back", shown="Esc"),
    Key("f9,k", "signal", "send a signal to the process (a buffer's pane: the holder chosen)",
        "Kill", shown="F9 k"),
]

#: keys of the tables themselves (widgets/live_table.py)
TABLE_KEYS: list[tuple[str, str]] = [
    ("↑ ↓ PgUp PgDn", "move"),
    ("g ctrl+home", "first row"),
    ("G ctrl+end", "last row"),
    ("click a header", "sort by that column (again: reverse)"),
]

#: one-character keys the app and the main screen use: a column's sort key is its
#: letter, or its capital when the letter is taken, or none (then F6 or a click)
RESERVED = {
    k for key in GLOBAL_KEYS + MAIN_KEYS for k in key.keys.split(",") if len(k) == 1
}


def sort_key_of(letter: str) -> str:
    """The key that sorts the column of ``letter``: it, its capital, or ""."""
    if not letter:
        return ""
    if letter not in RESERVED:
        return letter
    return letter.upper() if letter.upper() not in RESERVED else ""


def sort_letters() -> list[str]:
    letters: set[str] = set()
    for cols in COLUMNS.values():
        letters.update(c.letter for c in cols if c.letter)
    return sorted(letters)


def sort_bindings() -> list[Binding]:
    out = []
    for letter in sort_letters():
        for key in {letter, letter.upper()} - RESERVED:
            out.append(Binding(key, f"sort('{letter}')", f"sort {letter}", show=False))
    return out


def sort_keys(view: str) -> dict[str, str]:
    """The key that sorts each column of ``view`` (:func:`sort_key_of`), by column key."""
    return {c.key: k for c in COLUMNS[view] if (k := sort_key_of(c.letter))}


def sort_help(view: str) -> list[tuple[str, str]]:
    out = []
    for c in COLUMNS[view]:
        keys = " ".join(sorted({c.letter, c.letter.upper()} - RESERVED, key=str.isupper))
        if keys:
            out.append((keys, c.title))
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
