"""Growth suspects: what keeps growing over the last samples.

Pure functions over a list of snapshots in time order (a recording, or the
TUI's live history). Three kinds of things are watched:

* ``process``: a pid's bytes (its Rss, the distinct buffers it holds by fd or
  mapping, plus its handle bytes, those it holds by GEM handle only) and its
  buffer count; its Pss is reported beside (a buffer shared by two processes
  counts half in each one's Pss);
* ``exporter``: bytes and count of its buffers;
* ``name``: bytes and count of the buffers whose name has that pattern (every
  run of digits as ``#``: ``leak-1``, ``leak-2`` are ``leak-#``; ``None`` for
  unnamed buffers), so a counter in the name does not hide a leak.

A thing is a *suspect* when, over the last ``window`` samples, its bytes or its
buffer count never went down, ended higher than it started, and went up in at
least ``min_steps`` of the steps (default: half of them, at least one). One
step up followed by a plateau is not a leak; a steady allocate/free pattern
never qualifies. Its growth is then followed back before the window for as
long as it never fell: ``since`` is the last sample before it started to grow,
and the rates (per minute) are measured from there to the last sample.

API for the TUI: :func:`find_suspects` (sorted, fastest bytes growth first),
:func:`suspect_index` to flag rows, :func:`series` for one thing's history.
Per-snapshot sums are cached by snapshot identity, so calling it again after
each refresh only computes the new sample.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dmabuf_top.analysis import accounting
from dmabuf_top.model import Snapshot, same_start
from dmabuf_top.timefmt import parse_time

KINDS = ("process", "exporter", "name")
_ZERO = (0, 0, 0)
DEFAULT_WINDOW = 10

#: (kind, key): pid for processes, exporter name, buffer name (None = unnamed)
Key = tuple[str, Any]


@dataclass(frozen=True)
class Suspect:
    kind: str  # process | exporter | name
    key: Any  # pid (int), exporter (str), name pattern (str, or None for unnamed)
    label: str  # "comm (pid)", exporter, buffer name or "(unnamed)"
    #: bytes (Rss for a process) and buffer count at ``since`` and in the last sample
    bytes_start: int
    bytes_now: int
    buffers_start: int
    buffers_now: int
    bytes_per_min: float
    buffers_per_min: float
    #: processes only: Pss at ``since`` and now, and its rate
    pss_start: int | None
    pss_now: int | None
    pss_per_min: float | None
    #: which measure(s) met the rule over the window
    grew_bytes: bool
    grew_buffers: bool
    #: the last sample before it started to grow: its time and index
    since: str
    since_index: int
    #: seconds from ``since`` to the last sample
    seconds: float
    #: samples in the window that were looked at
    window: int



# ------------------------------------------------------------ per-snapshot sums


@dataclass(frozen=True)
class _Sums:
    #: key -> (bytes, buffers, pss or 0)
    values: dict[Key, tuple[int, int, int]]
    comms: dict[int, str]
    #: pid -> start time: a pid with another one is another process (pid reused)
    starts: dict[int, int | None]
    time: float | None

    def value(self, key: Key, start: int | None) -> tuple[int, int, int]:
        """``key``'s (bytes, buffers, pss); for a process, zero when this sample's
        process of that pid is another one than the one started at ``start``."""
        if key[0] == "process" and not same_start(self.starts.get(key[1]), start):
            return _ZERO
        return self.values.get(key, _ZERO)


_CACHE_MAX = 4096
#: by id(snapshot); the snapshot is held weakly and its entry dropped when it
#: dies, so a live session's old samples are not kept alive by the cache
_cache: OrderedDict[int, tuple[weakref.ref[Snapshot], _Sums]] = OrderedDict()
_cache_lock = threading.Lock()


def _compute(
    snap: Snapshot,
    procs: Sequence[accounting.ProcessStats] | None = None,
    exporters: Sequence[accounting.ExporterStats] | None = None,
    names: Mapping[str | None, accounting.GroupStats] | None = None,
) -> _Sums:
    values: dict[Key, tuple[int, int, int]] = {}
    if exporters is None:
        exporters = accounting.exporter_stats(snap)
    for e in exporters:
        values[("exporter", e.name)] = (e.bytes, e.buffers, 0)
    if names is None:
        names = accounting.group_stats(snap, "name")
    for key, g in names.items():
        values[("name", key)] = (g.bytes, g.buffers, 0)
    for p in accounting.process_stats(snap) if procs is None else procs:
        values[("process", p.pid)] = (p.rss + p.handle_bytes, p.buffers, p.pss)
    return _Sums(
        values=values,
        comms={pid: p.comm for pid, p in snap.processes.items()},
        starts={pid: p.start_time for pid, p in snap.processes.items()},
        time=parse_time(snap.taken_at),
    )


def remember_sums(
    snap: Snapshot,
    procs: Sequence[accounting.ProcessStats],
    exporters: Sequence[accounting.ExporterStats],
    names: Mapping[str | None, accounting.GroupStats] | None = None,
) -> None:
    """Keep ``snap``'s sums from figures already computed for it, or for the snapshot
    it is a lean copy of (:class:`~dmabuf_top.analysis.samples.LiveSamples`: the same
    buffers' sizes, exporters, names and holders): ``procs``, its
    :func:`~dmabuf_top.analysis.accounting.process_stats`, and ``exporters``, its
    :func:`~dmabuf_top.analysis.accounting.exporter_stats` (and ``names``, its
    group_stats by name); so a refresh accounts its snapshot once."""
    _sums(snap, _compute(snap, procs, exporters, names))


def _sums(snap: Snapshot, known: _Sums | None = None) -> _Sums:
    with _cache_lock:
        hit = _cache.get(id(snap))
        if known is None and hit is not None and hit[0]() is snap:
            _cache.move_to_end(id(snap))
            return hit[1]
    sums = _compute(snap) if known is None else known
    with _cache_lock:
        if id(snap) not in _cache:
            weakref.finalize(snap, _cache.pop, id(snap), None)
        _cache[id(snap)] = (weakref.ref(snap), sums)
        while len(_cache) > _CACHE_MAX:
            _cache.popitem(last=False)
    return sums


def _times(sums: list[_Sums]) -> list[float]:
    """Sample times; samples without a readable time are placed 1 s apart."""
    out: list[float] = []
    for i, s in enumerate(sums):
        if s.time is not None:
            out.append(s.time)
        else:
            out.append(out[-1] + 1.0 if out else float(i))
    return out


# ------------------------------------------------------------ the rule


def _qualifies(values: list[int], min_steps: int) -> bool:
    ups = 0
    for x, y in zip(values, values[1:], strict=False):
        if y < x:
            return False
        if y > x:
            ups += 1
    return values[-1] > values[0] and ups >= min_steps


def _run_start(
    snapshots: Sequence[Snapshot], key: Key, idx: int, first: int, start: int | None
) -> int:
    """Where the growth that reaches the last sample began: walk back from
    ``first`` while the measure never fell, then forward to the last sample
    still at that base level. ``idx``: 0 bytes, 1 buffer count; ``start``: the
    start time of the process a process key is (see :meth:`_Sums.value`)."""

    def value(i: int) -> int:
        return _sums(snapshots[i]).value(key, start)[idx]

    end = len(snapshots) - 1
    i = first
    while i > 0 and value(i - 1) <= value(i):
        i -= 1
    base = value(i)
    while i < end and value(i + 1) == base:
        i += 1
    return i


def _last_start(sums: list[_Sums], key: Key) -> int | None:
    """A process key stands for the process of the last sample that has its pid:
    samples of another process that had the pid before it (reused) count as zero."""
    if key[0] != "process":
        return None
    return next((s.starts[key[1]] for s in reversed(sums) if key[1] in s.starts), None)


def _label(kind: str, key: Any, comms: dict[int, str]) -> str:
    if kind == "process":
        return f"{comms.get(key, '') or '?'} ({key})"
    if kind == "name":
        return "(unnamed)" if key is None else str(key)
    return str(key)


def find_suspects(
    snapshots: Sequence[Snapshot],
    window: int = DEFAULT_WINDOW,
    min_steps: int | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> list[Suspect]:
    """Things whose bytes or buffer count grew across the last ``window``
    samples without ever falling back, fastest bytes growth first.

    ``min_steps``: how many of the window's steps must go up (default: half of
    them, at least 1). Fewer than 2 samples: no suspects.
    """
    n = len(snapshots)
    w = min(max(window, 2), n)
    if w < 2:
        return []
    steps = w - 1
    need = max(1, steps // 2) if min_steps is None else max(1, min(min_steps, steps))
    first = n - w
    win = [_sums(s) for s in snapshots[first:]]
    keys: set[Key] = set()
    for s in win:
        keys.update(k for k in s.values if k[0] in kinds)
    last = win[-1]
    out: list[Suspect] = []
    head = win[0]
    for key in keys:
        ref = _last_start(win, key)
        a, b = head.value(key, ref), last.value(key, ref)
        if b[0] <= a[0] and b[1] <= a[1]:
            continue  # neither measure ends above where it began: not a growth (_qualifies)
        series = [s.value(key, ref) for s in win]
        grew_b = _qualifies([v[0] for v in series], need)
        grew_n = _qualifies([v[1] for v in series], need)
        if not (grew_b or grew_n):
            continue
        # follow the growth back before the window while it never fell
        start = min(
            _run_start(snapshots, key, idx, first, ref)
            for idx, ok in ((0, grew_b), (1, grew_n))
            if ok
        )
        s0 = _sums(snapshots[start])
        v0 = s0.value(key, ref)
        v1 = last.value(key, ref)
        times = _times([s0, last])
        seconds = max(times[1] - times[0], 0.0)
        per_min = 60.0 / seconds if seconds > 0 else 0.0
        is_proc = key[0] == "process"
        comms = last.comms if key[1] in last.comms else s0.comms
        out.append(
            Suspect(
                kind=key[0],
                key=key[1],
                label=_label(key[0], key[1], comms),
                bytes_start=v0[0],
                bytes_now=v1[0],
                buffers_start=v0[1],
                buffers_now=v1[1],
                bytes_per_min=(v1[0] - v0[0]) * per_min,
                buffers_per_min=(v1[1] - v0[1]) * per_min,
                pss_start=v0[2] if is_proc else None,
                pss_now=v1[2] if is_proc else None,
                pss_per_min=(v1[2] - v0[2]) * per_min if is_proc else None,
                grew_bytes=grew_b,
                grew_buffers=grew_n,
                since=snapshots[start].taken_at,
                since_index=start,
                seconds=seconds,
                window=w,
            )
        )
    out.sort(key=lambda s: (-s.bytes_per_min, -s.buffers_per_min, KINDS.index(s.kind), s.label))
    return out


def suspect_index(suspects: list[Suspect]) -> dict[Key, Suspect]:
    """``(kind, key) -> Suspect``, to flag rows: ``("process", pid)``,
    ``("exporter", name)``, ``("name", name_pattern(buffer name))``."""
    return {(s.kind, s.key): s for s in suspects}


def series(snapshots: list[Snapshot], kind: str, key: Any) -> list[tuple[str, int, int, int]]:
    """One thing's history: ``(taken_at, bytes, buffers, pss)`` per sample
    (pss is 0 for exporters and names)."""
    sums = [_sums(s) for s in snapshots]
    ref = _last_start(sums, (kind, key))
    return [(s.taken_at, *x.value((kind, key), ref)) for s, x in zip(snapshots, sums, strict=True)]
