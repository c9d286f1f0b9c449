"""Every key of the TUI in one place: the bindings are built from these
tables and the help screen lists them, so the two cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from dmabuf_top.report.columns import Column
from dmabuf_top.report.live_columns import COLUMNS, VIEW_NAMES, VIEW_TITLES
from dmabuf_top.tui.event_rows import EVENT_COLUMNS


@dataclass(frozen=True)
class Key:
    keys: str  # Textual key names, comma-separated
    action: str
    help: str  # one line for the help screen ("": written with the key before it)
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
    Key("question_mark,f1,h", "help", "this help (ctrl+p: the command palette)", "Help",
        shown="F1 ? h"),
    Key("f2,S", "setup", "setup: columns, theme (ctrl+t: next), interval, units",
        "Setup", shown="F2 S"),
    Key("q,f10", "quit", "quit (saves the settings)", "Quit", shown="F10 q ctrl+c"),
    Key("ctrl+c", "quit", "", shown="ctrl+c", priority=True),
    Key("space,p,Z", "toggle_pause", "pause / resume the screen (scanning goes on)", "Pause",
        shown="space p Z"),
    Key("plus", "interval(1)", "live: refresh less / more often (the tree: unfold / fold)",
        shown="+ -"),
    Key("minus", "interval(-1)", "", shown="-"),
    Key("ctrl+l,ctrl+r", "refresh_now", "refresh now", shown="ctrl+l ctrl+r"),
    Key("number_sign", "toggle_graphs", "hide / show meters and graphs (0: scale from 0)",
        shown="# 0"),
    Key("0", "zero_scale", "", shown="0"),
    Key("ctrl+t", "next_theme", "", shown="ctrl+t"),
    Key("x", "export", "export the snapshot shown to a YAML file", "Export"),
    Key("left_square_bracket", "step_sample(-1)",
        "recording: previous / next sample; { }: the first / last", shown="[ ] { }"),
    Key("right_square_bracket", "step_sample(1)", "", shown="]"),
    Key("left_curly_bracket", "first_sample", "", shown="{"),
    Key("right_curly_bracket", "last_sample", "", shown="}"),
    Key("ctrl+p", "command_palette", ""),
]

#: keys of the main screen (the four tables)
MAIN_KEYS: list[Key] = [
    Key("1", "view('buffers')", "Buffers, Processes, Exporters, Suspects, Apps; Events",
        shown="1-5 6"),
    Key("2", "view('processes')", "", shown="2"),
    Key("3", "view('exporters')", "", shown="3"),
    Key("4", "view('suspects')", "", shown="4"),
    Key("5", "view('apps')", "", shown="5"),
    # in the footer only when the session has events (live, or a recording's)
    Key("6", "events", "", "Events", shown="6"),
    # priority: handled as soon as the app reads it, so the keys typed right
    # after it (already queued) reach the filter input, not the table
    Key("slash,f3,f4,backslash", "filter",
        "filter: text anywhere, re:PATTERN a regex; Esc clears",
        "Filter", shown="/ \\ F3 F4", priority=True),
    Key("f5,t", "tree", "Processes as a tree of parents (again: the list)",
        "Tree", shown="F5 t"),
    # in the tree, as in htop; elsewhere + - fall through to the interval (GLOBAL_KEYS)
    Key("plus", "fold(False)", "", shown="+"),
    Key("minus", "fold(True)", "", shown="-"),
    Key("asterisk", "fold_all", "tree: unfold / fold a branch, * every branch (else: F6)",
        shown="+ - *"),
    Key("f6,less_than_sign,greater_than_sign", "sort_menu",
        "sort from a list (or click a title); I inverts", "SortBy",
        shown="F6 < > I"),
    Key("f9,k", "signal", "signal the process (live sources; also in its pane)",
        "Kill", shown="F9 k"),
    Key("I", "invert_sort", "", shown="I"),
    Key("left_parenthesis", "suspect_window(-1)",
        "suspects: look at fewer / more samples (the window)", shown="( )"),
    Key("right_parenthesis", "suspect_window(1)", "", shown=")"),
    Key("escape", "clear_filter", "", shown="Esc"),
    Key("enter", "open", "open: a buffer's, a process's pane; an exporter's buffers",
        shown="Enter"),
]

#: keys of the detail panes
DETAIL_KEYS: list[Key] = [
    Key("escape,backspace", "back", "back", "Back", shown="Esc"),
    Key("f9,k", "signal", "send a signal to the process (a buffer's pane: the holder chosen)",
        "Kill", shown="F9 k"),
    Key("c", "toggle_cmdline", "a process's pane: its whole command line (again: one line)",
        "Cmdline", shown="c"),
]

#: keys of the events view (6), besides its sort keys
EVENTS_KEYS: list[Key] = [
    Key("escape,backspace", "back", "clear the filter, else back", "Back", shown="Esc"),
    Key("slash,f3,f4,backslash", "filter", "filter: text matches anywhere, re:PATTERN a regex",
        "Filter", shown="/ \\ F3 F4", priority=True),
    Key("enter", "open", "the event's buffer: its pane (gone: its life)", shown="Enter"),
    Key("I", "invert_sort", "invert the sort order", shown="I"),
]

#: keys of the tables themselves (widgets/live_table.py)
TABLE_KEYS: list[tuple[str, str]] = [
    ("↑ ↓ PgUp PgDn", "move; Home g / End G: the first / last row"),
]

#: one-character keys the app and the main screen use: a column's sort key is its
#: letter, or its capital when the letter is taken, or none (then F6 or a click)
RESERVED = {
    k for key in GLOBAL_KEYS + MAIN_KEYS for k in key.keys.split(",") if len(k) == 1
}


def unavailable_bindings() -> list[Binding]:
    """Hidden bindings under those a source cannot act on (F9 k of a file: its
    check_action hides it from the footer): the key then says why it does nothing."""
    return [Binding("f9,k", "signal_unavailable", "Kill", show=False)]


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


def sort_bindings(letters: list[str] | None = None) -> list[Binding]:
    """The sort keys of ``letters`` (default: those of the four views' columns)."""
    out = []
    for letter in sort_letters() if letters is None else letters:
        for key in {letter, letter.upper()} - RESERVED:
            out.append(Binding(key, f"sort('{letter}')", f"sort {letter}", show=False))
    return out


def sort_keys(view: str) -> dict[str, str]:
    """The key that sorts each column of ``view`` (:func:`sort_key_of`), by column key."""
    return {c.key: k for c in COLUMNS[view] if (k := sort_key_of(c.letter))}


def sort_help(view: str) -> str:
    """``view``'s sort keys on one line: each column's key and title (its capital, when
    free, sorts too)."""
    out = []
    cols: list[Column] = EVENT_COLUMNS if view == "events" else COLUMNS[view]
    for c in cols:
        keys = sorted({c.letter, c.letter.upper()} - RESERVED, key=str.isupper)
        if c.letter and keys:
            out.append(f"{keys[0]} {c.title}")
    return "  ".join(out)


def help_sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """(title, [(keys, what)]) for the help screen."""

    def rows(keys: list[Key]) -> list[tuple[str, str]]:
        return [(k.shown or k.keys, k.help) for k in keys if k.help]

    return [
        ("Everywhere", rows(GLOBAL_KEYS)),
        ("Tables", rows(MAIN_KEYS) + TABLE_KEYS),
        ("Sort keys (again: reverse)",
         [(VIEW_TITLES.get(v, "Events"), sort_help(v)) for v in (*VIEW_NAMES, "events")]),
    ]
