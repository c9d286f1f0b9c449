"""Table rows for the three views, prepared off the UI thread.

The columns are :mod:`dmabuf_top.report.columns`' (so the TUI and ``--once`` label and
sort alike) plus those that need the session's history: a buffer's AGE (time
since first seen) and Δ (new or changed since the first sample), a process's
ΔRSS (change since first seen), an exporter's ΔBYTES (change since the first
sample), and GROW, the growth-suspect flag of a process, an exporter, or a
buffer whose name has a suspect's pattern. The fourth view lists the growth
suspects themselves (:mod:`dmabuf_top.analysis.suspects`). Each row carries its cells
as plain strings, already made printable, so the UI thread only compares
tuples and builds ``Text`` for what changed.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from typing import Any

from dmabuf_top.analysis import accounting
from dmabuf_top.analysis.accounting import ProcessStats, Totals
from dmabuf_top.analysis.suspects import Suspect, suspect_index
from dmabuf_top.model import Snapshot
from dmabuf_top.report import columns as views
from dmabuf_top.textsafe import printable
from dmabuf_top.tui.growth import PatternCache
from dmabuf_top.tui.history import History
from dmabuf_top.units import human_delta

_SERIAL = itertools.count(1)

VIEW_NAMES = ("buffers", "processes", "exporters", "suspects")
VIEW_TITLES = {
    "buffers": "Buffers",
    "processes": "Processes",
    "exporters": "Exporters",
    "suspects": "Suspects",
}
DEFAULT_SORT = dict(views.DEFAULT_SORT, suspects="rate")
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
class TuiColumn(views.Column):
    """A column that formats ages and signed byte changes too.

    An age cell holds the time first seen (epoch seconds, as text): the table
    turns it into an age when it paints, so ages do not make every row change
    at every refresh."""

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
        return super().format(row, raw_bytes)


@dataclass
class BufferItem(views.BufferRow):
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
class ExporterItem(views.ExporterRow):
    #: bytes change since the first sample
    delta: int | None = None
    grow: Suspect | None = None


def _grow_value(s: Suspect | None) -> Any:
    return None if s is None else (s.bytes_per_min, s.buffers_per_min)


_SINCE_RANK = {"new": 2, "chg": 1}


def _suspect_key(s: Suspect) -> str:
    return f"{s.kind}:{s.key!r}"


#: sorts youngest first: by first-seen time, latest first (an age changes with
#: the clock, the first-seen time does not, so rows kept from an earlier
#: refresh still sort right)
AGE = TuiColumn(
    "age", "AGE", lambda r: None if r.first_seen is None else -r.first_seen, "age", 7, False, "a"
)
DELTA = TuiColumn("delta", "ΔRSS", lambda p: p.delta, "delta", 9, True, "d")
#: sorts suspects first, fastest growth first
GROW = TuiColumn("grow", "GROW", lambda r: _grow_value(r.grow), "flag", 4, True, "w")
SINCE = TuiColumn("since", "Δ", lambda b: _SINCE_RANK.get(b.since), "since", 3, True, "d")
EXPORTER_DELTA = TuiColumn("delta", "ΔBYTES", lambda e: e.delta, "delta", 9, True, "d")

SUSPECT_COLUMNS: list[views.Column] = [
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


def _insert_before(cols: list[views.Column], key: str, col: views.Column) -> list[views.Column]:
    out = list(cols)
    idx = next((i for i, c in enumerate(out) if c.key == key), len(out))
    out.insert(idx, col)
    return out


COLUMNS: dict[str, list[views.Column]] = {
    "buffers": [GROW]
    + _insert_before(_insert_before(views.BUFFER_COLUMNS, "holders", AGE), "count", SINCE),
    "processes": [GROW] + _insert_before(views.PROCESS_COLUMNS, "cmdline", DELTA),
    "exporters": [GROW] + _insert_before(views.EXPORTER_COLUMNS, "share", EXPORTER_DELTA),
    "suspects": SUSPECT_COLUMNS,
}

#: the fields a filter looks at, per view
_SEARCH: dict[str, tuple[str, ...]] = {
    "buffers": ("inode", "exporter", "name", "holders"),
    "processes": ("pid", "comm", "cmdline"),
    "exporters": ("name",),
    "suspects": ("kind", "what"),
}


def column(view: str, key: str) -> views.Column:
    for c in COLUMNS[view]:
        if c.key == key:
            return c
    raise KeyError(f"{view}: no column {key!r}")


def column_for_letter(view: str, letter: str) -> views.Column | None:
    letter = letter.lower()
    for c in COLUMNS[view]:
        if c.letter and c.letter == letter:
            return c
    return None


@dataclass(slots=True)
class Row:
    key: str
    obj: Any
    cells: tuple[str, ...]
    #: lower-cased searchable fields
    search: tuple[str, ...]
    #: "new" (appeared this refresh), "freed" (gone: shown once more), or ""
    mark: str = ""
    #: what the cells were made from: equal signatures, equal cells
    sig: Any = None
    #: sort keys computed so far, by column (a row is reused while unchanged)
    sort_keys: dict[str, Any] | None = None


@dataclass
class Prepared:
    """One refresh, ready for the UI: the snapshot and its rows per view."""

    snap: Snapshot
    sample: int
    totals: Totals
    procs: list[ProcessStats]
    rows: dict[str, list[Row]]
    #: keys per view that appeared / vanished since the previous refresh shown
    new: dict[str, set[str]]
    freed: dict[str, set[str]]
    #: growth suspects as of this sample, over ``window`` samples, of which
    #: ``have`` were available (none are reported until the window is full)
    suspects: list[Suspect] = field(default_factory=list)
    window: int = 0
    have: int = 0
    #: a number no other Prepared of this process has
    serial: int = field(default_factory=lambda: next(_SERIAL))


def _buffer_sig(r: BufferItem) -> Any:
    b = r.buf
    return (
        b.size, b.count, b.name, b.exporter, tuple(b.pids), tuple(r.comms), r.first_seen,
        r.since, _grow_value(r.grow),
    )


#: what must stay the same for a row key to still be the same thing: a
#: dma-buf's exporter and size never change, so an inode showing another
#: exporter or size is a new buffer that reuses the number (kernels < 5.18);
#: a pid with another comm is most likely a new process that reuses the pid
_IDENTITY: dict[str, Any] = {
    "buffers": lambda r: (r.buf.exporter, r.buf.size),
    "processes": lambda p: p.comm,
}


def _process_sig(p: ProcessItem) -> Any:
    return (
        p.rss, p.pss, p.buffers, p.fds, p.maps, p.comm, p.cmdline, p.delta, _grow_value(p.grow)
    )


def _make_rows(
    view: str, items: list[Any], key_of: Any, sig_of: Any, previous: Prepared | None
) -> list[Row]:
    """Rows of one view; the cells of a row whose signature did not change
    since ``previous`` are reused, not formatted again."""
    cols = COLUMNS[view]
    search_idx = [i for i, c in enumerate(cols) if c.key in _SEARCH[view]]
    before = {} if previous is None else {r.key: r for r in previous.rows[view] if not r.mark}
    out = []
    for it in items:
        key = key_of(it)
        sig = sig_of(it) if sig_of is not None else None
        old = before.get(key)
        if old is not None and sig is not None and old.sig == sig:
            out.append(old)  # same cells, same sort values: no new long-lived objects
            continue
        cells = tuple(c.format(it) for c in cols)
        out.append(Row(key, it, cells, tuple(cells[i].lower() for i in search_idx), "", sig))
    return out


def record(snap: Snapshot, history: History) -> int:
    """Only add ``snap`` to ``history`` (a recording's earlier samples)."""
    procs = accounting.process_stats(snap)
    return history.add(snap, accounting.totals(snap, procs), procs)


_patterns = PatternCache()


def prepare(
    snap: Snapshot,
    history: History,
    previous: Prepared | None,
    sample: int | None = None,
    suspects: list[Suspect] | None = None,
    window: int = 0,
    have: int = 0,
) -> Prepared:
    """Account ``snap``, record it in ``history`` (unless ``sample`` says it is
    already there) and build the rows of every view, marking rows new or freed
    against ``previous`` and flagging ``suspects`` (computed by the caller over
    ``have`` samples, ``window`` wide). Runs on the collector thread."""
    procs = accounting.process_stats(snap)
    totals = accounting.totals(snap, procs)
    if sample is None:
        sample = history.add(snap, totals, procs)
    suspects = list(suspects or [])
    index = suspect_index(suspects)
    names = {k[1]: s for k, s in index.items() if k[0] == "name"}
    comm = {pid: p.comm for pid, p in snap.processes.items()}
    first_seen = history.first_seen_time
    since = history.change_since_start
    pattern = _patterns
    bitems = [
        BufferItem(
            b,
            [comm.get(p, "?") for p in b.pids],
            first_seen(b.inode),
            since(b.inode, sample),
            names.get(pattern(b.name)) if names else None,
        )
        for b in snap.buffers.values()
    ]
    pitems = []
    for p in procs:
        first_rss = history.first_rss(p.pid)
        pitems.append(
            ProcessItem(
                **vars(p),
                delta=None if first_rss is None else p.rss - first_rss,
                grow=index.get(("process", p.pid)),
            )
        )
    eitems = [
        ExporterItem(
            e.stats,
            e.share,
            e.stats.bytes - history.first_exporter_bytes(e.stats.name),
            index.get(("exporter", e.stats.name)),
        )
        for e in views.exporter_rows(snap)
    ]
    rows = {
        "buffers": _make_rows(
            "buffers", bitems, lambda r: str(r.buf.inode), _buffer_sig, previous
        ),
        "processes": _make_rows(
            "processes", pitems, lambda p: str(p.pid), _process_sig, previous
        ),
        "exporters": _make_rows("exporters", eitems, lambda e: e.stats.name, None, previous),
        "suspects": _make_rows("suspects", suspects, _suspect_key, None, previous),
    }
    new: dict[str, set[str]] = {}
    freed: dict[str, set[str]] = {}
    for view, rs in rows.items():
        if view == "suspects":  # the list as of this sample: nothing "freed" to show
            new[view], freed[view] = set(), set()
            continue
        if previous is None:
            new[view], freed[view] = set(), set()
            continue
        before = {r.key: r for r in previous.rows[view] if r.mark != "freed"}
        keys = {r.key for r in rs}
        new[view] = keys - before.keys()
        freed[view] = before.keys() - keys
        ident = _IDENTITY.get(view)
        if previous.snap.boot_id != snap.boot_id:  # rebooted: no inode or pid is the same
            new[view] = set(keys)
        elif ident is not None:
            for r in rs:
                old = before.get(r.key)
                if old is not None and old is not r and ident(old.obj) != ident(r.obj):
                    new[view].add(r.key)  # the number was reused
        for i, r in enumerate(rs):
            if r.key in new[view]:
                if r is before.get(r.key):  # shared with ``previous``: mark a copy
                    r = rs[i] = replace(r, sort_keys=None)
                r.mark = "new"
        for k in freed[view]:
            old = before[k]
            rs.append(Row(old.key, old.obj, old.cells, old.search, "freed", old.sig))
    return Prepared(snap, sample, totals, procs, rows, new, freed, suspects, window, have)


class FilterError(ValueError):
    """A filter that cannot be compiled; str() is one line."""


class RowFilter:
    """``text`` matches rows whose fields contain it (case-insensitive);
    ``re:PATTERN`` matches with a regular expression (case-insensitive)
    searched in each field."""

    PREFIX = "re:"

    def __init__(self, text: str) -> None:
        self.text = text
        self._regex: re.Pattern[str] | None = None
        self._needle = ""
        if text.startswith(self.PREFIX):
            pattern = text[len(self.PREFIX) :]
            try:
                self._regex = re.compile(pattern, re.IGNORECASE)
            except re.error as e:
                raise FilterError(f"bad regular expression: {e}") from None
        else:
            self._needle = text.lower()

    @property
    def active(self) -> bool:
        return bool(self.text) and self.text != self.PREFIX

    def __call__(self, row: Row) -> bool:
        if self._regex is not None:
            search = self._regex.search
            return any(search(f) for f in row.search)
        needle = self._needle
        return any(needle in f for f in row.search)


def visible_rows(
    rows: list[Row], sort: views.Column, reverse: bool, flt: RowFilter | None
) -> list[Row]:
    """Filter then sort (stable; ties keep key order)."""
    if flt is not None and flt.active:
        rows = [r for r in rows if flt(r)]
    key_of = views.sort_key(sort)
    name = sort.key

    def key(r: Row) -> Any:
        cache = r.sort_keys
        if cache is None:
            cache = r.sort_keys = {}
        k = cache.get(name, _MISSING)
        if k is _MISSING:
            k = cache[name] = key_of(r.obj)
        return k

    return sorted(rows, key=key, reverse=sort.descending != reverse)


_MISSING = object()
