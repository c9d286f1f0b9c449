"""The live views' columns (the TUI's): those of ``--once`` (:mod:`dmabuf_top.report.columns`)
plus the ones that need a session's history (AGE, Δ, ΔRSS, ΔBYTES, GROW) and the
Suspects view's; the row items they read, and the column sets of each width."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dmabuf_top.analysis.accounting import ProcessStats
from dmabuf_top.analysis.suspects import Suspect
from dmabuf_top.report import columns
from dmabuf_top.textsafe import printable
from dmabuf_top.units import human_delta

VIEW_NAMES = ("buffers", "processes", "exporters", "suspects", "apps")
VIEW_TITLES = {
    "buffers": "Buffers",
    "processes": "Processes",
    "exporters": "Exporters",
    "suspects": "Suspects",
    "apps": "Apps",
}
DEFAULT_SORT = dict(columns.DEFAULT_SORT, suspects="rate")
#: the GROW cell of a suspect's row
GROW_MARK = "▲"


def human_age(seconds: float | None) -> str:
    """``12s``, ``4m05s``, ``3h02m``, ``2d04h``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


@dataclass(frozen=True)
class TuiColumn(columns.Column):
    """A column that formats ages and signed byte changes too.

    An age cell holds the time first seen (epoch seconds, as text): the table
    turns it into an age when it paints, so ages do not make every row change
    at every refresh."""

    #: the column whose cell is shown instead when this one's is too long to fit
    short: str = ""
    #: cut the text before the last of these characters, never what follows it
    keep_from: str = ""

    def format(self, row: Any, raw_bytes: bool = False) -> str:
        if self.kind == "age":
            first = getattr(row, "first_seen", None)
            return "" if first is None else repr(first)
        if self.kind == "delta":
            v = self.value(row)
            return "-" if v is None else human_delta(int(v))
        if self.kind == "flag":
            return "" if self.value(row) is None else GROW_MARK
        if self.kind == "since":
            return str(getattr(row, "since", ""))
        if self.kind == "rate":
            v = self.value(row)
            return "-" if v is None else f"{v:+.1f}"
        if self.kind == "clock":  # an ISO time: its time of day
            v = str(self.value(row) or "")
            return printable(v[11:19] if len(v) >= 19 and v[10] == "T" else v) or "-"
        if self.kind == "duration":
            return human_age(self.value(row))
        if self.kind == "holders":
            return first_holder(row)
        return super().format(row, raw_bytes)


@dataclass
class BufferItem(columns.BufferRow):
    #: when it was first seen in this session (epoch seconds)
    first_seen: float | None = None
    #: "new" / "chg" since the first sample, or ""
    since: str = ""
    #: the suspect its name pattern is, if any
    grow: Suspect | None = None


@dataclass
class ProcessItem(ProcessStats):
    #: Rss change since the process was first seen in this session
    delta: int | None = None
    grow: Suspect | None = None


@dataclass
class ExporterItem(columns.ExporterRow):
    #: bytes change since the first sample
    delta: int | None = None
    grow: Suspect | None = None


def first_holder(row: columns.BufferRow) -> str:
    """The first holder and how many more: ``compositor(301) +2``."""
    pids = row.buf.pids
    if not pids:
        return ""
    more = f" +{len(pids) - 1}" if len(pids) > 1 else ""
    return f"{printable(row.comms[0] if row.comms else '?')}({pids[0]}){more}"


def grow_value(s: Suspect | None) -> Any:
    return None if s is None else (s.bytes_per_min, s.buffers_per_min)


_SINCE_RANK = {"new": 2, "chg": 1}


def suspect_key(s: Suspect) -> str:
    return f"{s.kind}:{s.key!r}"


#: sorts youngest first: by first-seen time, latest first (an age changes with
#: the clock, the first-seen time does not, so rows kept from an earlier
#: refresh still sort right)
AGE = TuiColumn(
    "age", "AGE", lambda r: None if r.first_seen is None else -r.first_seen, "age", 7, False, "a"
)
DELTA = TuiColumn("delta", "ΔRSS", lambda p: p.delta, "delta", 9, True, "d")
#: sorts suspects first, fastest growth first
GROW = TuiColumn("grow", "GROW", lambda r: grow_value(r.grow), "flag", 4, True, "w")
SINCE = TuiColumn("since", "Δ", lambda b: _SINCE_RANK.get(b.since), "since", 3, True, "d")
EXPORTER_DELTA = TuiColumn("delta", "ΔBYTES", lambda e: e.delta, "delta", 9, True, "d")
#: what HOLDERS shows when the whole list does not fit: the first holder, ``+N`` more
#: (never shown as a column of its own)
FIRST_HOLDER = TuiColumn(
    "holder", "HOLDER", lambda r: r.holders_text, "holders", 16, False, "", keep_from="("
)

SUSPECT_COLUMNS: list[columns.Column] = [
    TuiColumn("kind", "KIND", lambda s: s.kind, "text", 8, False, "k"),
    TuiColumn("what", "WHAT", lambda s: s.label, "text", 28, False, "n"),
    TuiColumn("rate", "BYTES/MIN", lambda s: s.bytes_per_min, "delta", 10, True, "r"),
    TuiColumn("bufrate", "BUFS/MIN", lambda s: s.buffers_per_min, "rate", 8, True, "u"),
    TuiColumn("bytes", "BYTES", lambda s: s.bytes_now, "bytes", 9, True, "s"),
    TuiColumn("buffers", "BUFS", lambda s: s.buffers_now, "int", 5, True, "b"),
    TuiColumn("pss", "PSS", lambda s: s.pss_now, "bytes", 9, True, "p"),
    TuiColumn("pssrate", "PSS/MIN", lambda s: s.pss_per_min, "delta", 9, True, "m"),
    TuiColumn("since", "SINCE", lambda s: s.since, "clock", 8, False, "a"),
    TuiColumn("for", "FOR", lambda s: s.seconds, "duration", 7, True, "f"),
]


def _shorten(cols: list[columns.Column], key: str, short: str) -> list[columns.Column]:
    """``cols`` with column ``key`` showing column ``short``'s cell when too long."""
    return [
        TuiColumn(c.key, c.title, c.value, c.kind, c.width, c.descending, c.letter, short=short)
        if c.key == key else c
        for c in cols
    ]


def _insert_before(
    cols: list[columns.Column], key: str, col: columns.Column
) -> list[columns.Column]:
    out = list(cols)
    idx = next((i for i, c in enumerate(out) if c.key == key), len(out))
    out.insert(idx, col)
    return out


COLUMNS: dict[str, list[columns.Column]] = {
    "buffers": [GROW]
    + _insert_before(
        _insert_before(_shorten(columns.BUFFER_COLUMNS, "holders", "holder"), "holders", AGE),
        "count", SINCE,
    )
    + [FIRST_HOLDER],
    "processes": [GROW] + _insert_before(columns.PROCESS_COLUMNS, "cmdline", DELTA),
    "exporters": [GROW] + _insert_before(columns.EXPORTER_COLUMNS, "share", EXPORTER_DELTA),
    "suspects": SUSPECT_COLUMNS,
    "apps": columns.APP_COLUMNS,
}

#: columns that carry nothing for a single static snapshot (no history to compare with)
LIVE_ONLY = frozenset({"grow", "since", "age", "delta"})

#: the column sets of each view, widest first, as ``key`` or ``key:width`` (the last
#: column's width is the least it may have: it takes the width left over); a table
#: shows the first set that fits, so every width shows who holds what
LAYOUTS: dict[str, list[str]] = {
    "buffers": [
        "grow inode exporter size since count procs name age holders:36",
        "grow inode exporter size procs name:28 age holders:28",
        "grow exporter:10 size:7 procs name:20 holders:14",
    ],
    "processes": [
        "grow pid user comm buffers fds maps rss pss delta app:20 cmdline:28",
        "grow pid user comm buffers fds maps rss pss delta cmdline:28",
        "grow pid comm:15 buffers rss:7 pss:7 cmdline:14",
    ],
    "exporters": ["grow name buffers bytes delta share heap"],
    "suspects": [
        "kind rate bufrate bytes buffers pss pssrate since for what:20",
        "kind rate bytes:7 buffers for what:14",
    ],
    "apps": [
        "app:24 procs buffers rss pss handle_bytes dmem memcg_heap",
        "app:16 procs rss:7 pss:7 dmem memcg_heap",
    ],
}

#: the Processes view's sets as a tree: COMM wider, for the tree's glyphs
TREE_LAYOUTS = [
    "grow pid user comm:30 buffers fds maps rss pss delta app:20 cmdline:28",
    "grow pid comm:30 buffers fds maps rss pss delta cmdline:28",
    "grow pid comm:24 buffers fds maps rss pss delta cmdline:20",
    "grow pid comm:20 buffers rss:7 pss:7 cmdline:14",
]

#: the fields a filter looks at, per view
SEARCH: dict[str, tuple[str, ...]] = {
    "buffers": ("inode", "exporter", "name", "holders"),
    "processes": ("pid", "user", "comm", "app", "cmdline"),
    "exporters": ("name",),
    "suspects": ("kind", "what"),
    "apps": ("app",),
}


def column(view: str, key: str) -> columns.Column:
    for c in COLUMNS[view]:
        if c.key == key:
            return c
    raise KeyError(f"{view}: no column {key!r}")


def column_for_letter(view: str, letter: str) -> columns.Column | None:
    letter = letter.lower()
    for c in COLUMNS[view]:
        if c.letter and c.letter == letter:
            return c
    return None
