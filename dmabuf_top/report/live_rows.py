"""The live views' rows as plain data, prepared off the UI thread (the TUI's scan thread).

The columns are :mod:`dmabuf_top.report.columns`' (so the TUI and ``--once`` label and
sort alike) plus those that need the session's history: a buffer's AGE (time
since first seen) and Δ (new or changed since the first sample), a process's
ΔRSS (change since first seen), an exporter's ΔBYTES (change since the first
sample), and GROW, the growth-suspect flag of a process, an exporter, or a
buffer whose name has a suspect's pattern. The fourth view lists the growth
suspects themselves (:mod:`dmabuf_top.analysis.suspects`). Each row carries its cells
as plain strings, already made printable, so the UI thread only compares
tuples and builds ``Text`` for what changed.

The work of a refresh grows with what changed: a row whose record is the very object
of the refresh before (the Assembler reuses unchanged Buffers and Processes) is reused
as it is, and the snapshot is accounted once (:func:`account`).
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass, field, replace
from typing import Any

from dmabuf_top.analysis import accounting
from dmabuf_top.analysis.accounting import ProcessStats, Totals
from dmabuf_top.analysis.apps import app_stats, unavailable
from dmabuf_top.analysis.history import History, Series
from dmabuf_top.analysis.samples import PatternCache
from dmabuf_top.analysis.suspects import Suspect, suspect_index
from dmabuf_top.model import Snapshot, same_start
from dmabuf_top.report import columns
from dmabuf_top.report.live_columns import (
    COLUMNS,
    SEARCH,
    BufferItem,
    ExporterItem,
    ProcessItem,
    grow_value,
    suspect_key,
)

_SERIAL = itertools.count(1)

#: between a row's search fields in its haystack: no filter text typed holds it, so a
#: match never spans two fields
SEARCH_SEP = "\0"


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
    #: the search fields joined by SEARCH_SEP: a plain filter tests a row with one ``in``
    haystack: str = field(init=False)

    def __post_init__(self) -> None:
        self.haystack = SEARCH_SEP.join(self.search)


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
    #: per view, rows already filtered and sorted off the UI thread, with the
    #: order they are in: (sort column key, reversed, filter text), rows
    ordered: dict[str, tuple[tuple[str, bool, str], list[Row]]] = field(default_factory=dict)
    #: per view, what changed from the ordered rows of the Prepared before to these
    #: (:class:`SyncPlan`), worked out off the UI thread too
    plans: dict[str, Any] = field(default_factory=dict)
    #: sizes written as byte counts, not 8.0M
    raw_bytes: bool = False
    #: the header's, worked out off the UI thread too: total bytes of the samples up to
    #: this one, and the largest exporters (name, bytes), largest first
    graph: Series = field(default_factory=lambda: Series([], []))
    exporters: tuple[tuple[str, int], ...] = ()
    #: why an Apps column of the kernel's own charge says unavailable (apps.unavailable)
    apps_unavailable: dict[str, str] = field(default_factory=dict)
    #: per view, its rows by key (the freed left out): what the next refresh reuses
    keyed: dict[str, dict[str, Row]] = field(default_factory=dict)


def _buffer_sig(r: BufferItem) -> Any:
    b = r.buf
    return (
        b.size, b.count, b.name, b.exporter, tuple(b.pids), tuple(r.comms), r.first_seen,
        r.since, grow_value(r.grow),
    )


#: whether two rows of one key are still the same thing: a dma-buf's exporter
#: and size never change, so an inode showing another exporter or size is a new
#: buffer that reuses the number (kernels < 5.18); a pid with another start time
#: is a new process that reuses the pid (and one with another comm most likely)
_SAME: dict[str, Any] = {
    "buffers": lambda a, b: (a.buf.exporter, a.buf.size) == (b.buf.exporter, b.buf.size),
    "processes": lambda a, b: a.comm == b.comm and same_start(a.start_time, b.start_time),
}


def _process_sig(p: ProcessItem) -> Any:
    return (
        p.rss, p.pss, p.buffers, p.fds, p.maps, p.comm, p.cmdline, p.delta, grow_value(p.grow),
        p.start_time,
    )


def _make_rows(
    view: str, items: list[Any], key_of: Any, sig_of: Any, before: dict[str, Row],
    raw_bytes: bool = False,
) -> tuple[list[Row], list[Row]]:
    """Rows of one view, and those of them made anew; the cells of a row whose
    signature did not change since the rows ``before`` (in the same units, by key)
    are reused, not formatted again."""
    cols = COLUMNS[view]
    search_idx = [i for i, c in enumerate(cols) if c.key in SEARCH[view]]
    out, made = [], []
    for it in items:
        key = key_of(it)
        sig = sig_of(it) if sig_of is not None else None
        old = before.get(key)
        if old is not None and sig is not None and not old.mark and old.sig == sig:
            out.append(old)  # same cells, same sort values: no new long-lived objects
            continue
        cells = tuple(c.format(it, raw_bytes) for c in cols)
        row = Row(key, it, cells, tuple(cells[i].lower() for i in search_idx), "", sig)
        out.append(row)
        made.append(row)
    return out, made


def _buffer_rows(
    snap: Snapshot, history: History, sample: int, names: dict[Any, Suspect],
    before: dict[str, Row], previous: Snapshot | None, previous_sample: int, raw_bytes: bool,
    same: list[Row] | None = None,
) -> tuple[list[Row], list[Row]]:
    """The Buffers view's rows, and those made anew. A row is reused as it is (no item,
    no signature, no cells made) when its Buffer is the very object of the row before
    (the Assembler reuses an unchanged one), its holders' comms, first-seen time, Δ
    and suspect did not change: the work grows with what changed, not with what is.
    ``same``: the rows before, when every buffer is the very one of ``previous``, in
    its order, and none of them is marked or a name suspect's (then, one sample on,
    with no comm changed and no name suspect now, they are these rows as they are)."""
    changed: set[int] = set()  # pids whose comm changed (or that came or went)
    if previous is not None and previous.boot_id != snap.boot_id:
        before = {}  # (every row new: see prepare)
    elif previous is not None and before:
        procs, old_procs = snap.processes, previous.processes
        changed = {pid for pid, p in procs.items()
                   if (q := old_procs.get(pid)) is not p and (q is None or q.comm != p.comm)}
        changed.update(old_procs.keys() - procs.keys())
    # One sample on from ``previous`` (live, or a recording stepped on), a buffer that is
    # the very object again kept its track: its first-seen time and Δ are as they were.
    step = previous is not None and previous_sample >= 1 and sample == previous_sample + 1
    if same is not None and step and not changed and not names:
        return same, []  # every buffer the very one, no mark, suspect or comm moved
    marks, pattern = history.buffer_marks, _patterns
    comm: dict[int, str] | None = None
    out: list[Row | None] = []
    fresh: list[BufferItem] = []
    at: list[int] = []  # where the rows made anew go
    for inode, b in snap.buffers.items():
        grow = names.get(pattern(b.name)) if names else None
        old = before.get(str(inode))
        if old is not None and not old.mark:
            it = old.obj
            if (it.buf is b and (it.grow is grow or grow_value(it.grow) == grow_value(grow))
                    and (not changed or changed.isdisjoint(b.pids))
                    and (step or (it.first_seen, it.since) == marks(inode, sample))):
                out.append(old)
                continue
        first, since = marks(inode, sample)
        if comm is None:
            comm = {pid: p.comm for pid, p in snap.processes.items()}
        fresh.append(BufferItem(b, [comm.get(p, "?") for p in b.pids], first, since, grow))
        at.append(len(out))
        out.append(None)
    rows, made = _make_rows("buffers", fresh, _buffer_key, _buffer_sig, before, raw_bytes)
    for i, row in zip(at, rows, strict=True):
        out[i] = row
    return out, made  # type: ignore[return-value]  # (every None filled)


def _same_buffer_rows(snap: Snapshot, previous: Prepared) -> list[Row] | None:
    """``previous``'s Buffers rows when ``snap`` has its very buffers in its order (same
    boot), none of them marked new or freed and no name suspect flagging them."""
    last = previous.snap
    if (last.boot_id != snap.boot_id or previous.new["buffers"] or previous.freed["buffers"]
            or any(s.kind == "name" for s in previous.suspects)):
        return None
    gone, came, in_order = accounting.changed_buffers(snap.buffers, last.buffers)
    return list(previous.rows["buffers"]) if not gone and not came and in_order else None


def _buffer_key(r: BufferItem) -> str:
    return str(r.buf.inode)


def record(snap: Snapshot, history: History) -> int:
    """Only add ``snap`` to ``history`` (a recording's earlier samples)."""
    fig = account(snap)
    return history.add(snap, fig.totals, fig.procs)


@dataclass(frozen=True)
class Figures:
    """One snapshot accounted, once: what its rows, the history and the suspects read."""

    snap: Snapshot
    procs: list[ProcessStats]
    totals: Totals
    exporters: list[columns.ExporterRow]
    #: its buffers grouped by name pattern (None: not worked out)
    names: dict[str | None, accounting.GroupStats] | None = None


def account(
    snap: Snapshot, groups: accounting.GroupSums | None = None,
    sums: accounting.ProcessSums | None = None,
) -> Figures:
    """``snap``'s per-process figures, totals and exporters; ``groups``: the session's
    group sums, brought up to ``snap`` (the exporters and name patterns from them);
    ``sums``: the session's process sums, brought up to ``snap`` (the processes and
    totals from them)."""
    if sums is not None:
        procs = sums.update(snap)
        totals = accounting.totals(snap, procs, sums)
    else:
        procs = accounting.process_stats(snap)
        totals = accounting.totals(snap, procs)
    if groups is None:
        return Figures(snap, procs, totals, columns.exporter_rows(snap))
    groups.update(snap)
    return Figures(snap, procs, totals, columns.exporter_rows(snap, groups.stats("exporter")),
                   groups.stats("name"))


_patterns = PatternCache()


def prepare(
    snap: Snapshot,
    history: History,
    previous: Prepared | None,
    sample: int | None = None,
    suspects: list[Suspect] | None = None,
    window: int = 0,
    have: int = 0,
    raw_bytes: bool = False,
    figures: Figures | None = None,
) -> Prepared:
    """Account ``snap`` (unless ``figures`` are its, :func:`account`), record it in
    ``history`` (unless ``sample`` says it is already there) and build the rows of every
    view, marking rows new or freed against ``previous`` and flagging ``suspects``
    (computed by the caller over ``have`` samples, ``window`` wide). Runs on the
    collector thread."""
    fig = figures if figures is not None else account(snap)
    procs, totals = fig.procs, fig.totals
    if sample is None:
        sample = history.add(snap, totals, procs)
    suspects = list(suspects or [])
    index = suspect_index(suspects)
    names = {k[1]: s for k, s in index.items() if k[0] == "name"}
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
        for e in fig.exporters
    ]
    rb = raw_bytes
    same_units = previous is not None and previous.raw_bytes == rb
    reuse = previous.keyed if previous is not None and same_units else {}
    apps = app_stats(snap, procs)
    made = {
        "buffers": _buffer_rows(snap, history, sample, names, reuse.get("buffers", {}),
                                previous.snap if previous is not None else None,
                                previous.sample if previous is not None else -1, rb,
                                _same_buffer_rows(snap, previous)
                                if previous is not None and reuse else None),
        "processes": _make_rows("processes", pitems, lambda p: str(p.pid), _process_sig,
                                reuse.get("processes", {}), rb),
        "exporters": _make_rows("exporters", eitems, lambda e: e.stats.name, None, {}, rb),
        "suspects": _make_rows("suspects", suspects, suspect_key, None, {}, rb),
        "apps": _make_rows("apps", apps, lambda a: a.app, None, {}, rb),
    }
    rows = {view: rs for view, (rs, _) in made.items()}
    keyed = {view: {r.key: r for r in rs} for view, rs in rows.items()}
    new: dict[str, set[str]] = {}
    freed: dict[str, set[str]] = {}
    rebooted = previous is not None and previous.snap.boot_id != snap.boot_id
    for view, rs in rows.items():
        if view == "suspects" or previous is None:  # (suspects: the list as of this
            new[view], freed[view] = set(), set()  # sample, nothing "freed" to show)
            continue
        before, now = previous.keyed[view], keyed[view]
        new[view] = now.keys() - before.keys()
        freed[view] = before.keys() - now.keys()
        same = _SAME.get(view)
        if rebooted:  # no inode or pid is the same: every row is new
            new[view] = set(now)
            rs[:] = [replace(r, sort_keys=None) if r is before.get(r.key) else r for r in rs]
            keyed[view] = now = {r.key: r for r in rs}
        elif same is not None:
            for r in made[view][1]:  # (a row reused is the one before: the same thing)
                old = before.get(r.key)
                if old is not None and not same(old.obj, r.obj):
                    new[view].add(r.key)  # the number was reused
        for k in new[view]:  # (a row made anew, or a copy: never one ``previous`` holds)
            now[k].mark = "new"
        for k in freed[view]:
            old = before[k]
            rs.append(Row(old.key, old.obj, old.cells, old.search, "freed", old.sig))
    return Prepared(
        snap, sample, totals, procs, rows, new, freed, suspects, window, have, raw_bytes=rb,
        apps_unavailable=unavailable(snap, apps), keyed=keyed,
    )


@dataclass(frozen=True)
class SyncPlan:
    """What changed from the rows ``base`` (a list a table may hold; None: a table that
    holds no rows yet) to others, worked out by :func:`plan_sync` off the UI thread:
    their keys in order, the rows that are not one of ``base``'s Row objects (only
    those can differ: a Row handed over is never changed, prepare() makes a new one),
    the keys of ``base`` gone; from no rows, every row's cells and marks by key."""

    base: list[Row] | None
    keys: list[str]
    moved: list[Row]
    gone: frozenset[str]
    cells: dict[str, tuple[str, ...]] | None = None
    marks: dict[str, str] | None = None


def plan_sync(rows: list[Row], base: list[Row] | None) -> SyncPlan:
    """The plan from ``base`` to ``rows`` (scan thread: O(rows) here, so that the UI
    thread's update is O(rows changed))."""
    keys = [r.key for r in rows]
    if rows is base:  # the very rows: nothing to do
        return SyncPlan(base, keys, [], frozenset())
    if base is None:
        return SyncPlan(None, keys, [], frozenset(), {r.key: r.cells for r in rows},
                        {r.key: r.mark for r in rows if r.mark})
    held = set(map(id, base))
    moved = [r for r in rows if r.mark or id(r) not in held]
    gone = frozenset({r.key for r in base}.difference(keys))
    return SyncPlan(base, keys, moved, gone)


def same_rows(rows: list[Row], before: list[Row]) -> bool:
    """Whether ``rows`` are the very Row objects of ``before``, in the same order (a
    view that nothing changed in: its order stays as it was)."""
    return len(rows) == len(before) and all(map(operator.is_, rows, before))
