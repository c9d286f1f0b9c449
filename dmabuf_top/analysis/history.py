"""What the session has seen over time: totals, and per buffer and process.

Fed one snapshot per refresh (or per recording sample, in order) by the
collector thread; read by the UI thread. Every public method takes the lock.
Samples are numbered from 0; queries take the sample number being shown, so a
recording can be stepped back and forth.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from dmabuf_top.analysis.accounting import ProcessStats, Totals, changed_buffers
from dmabuf_top.model import Buffer, Snapshot, same_start
from dmabuf_top.timefmt import parse_time


@dataclass
class Track:
    """One buffer's life: change points ``(sample, size, holders)``; size 0 and
    holders -1 mark the sample where it was gone."""

    first: int
    exporter: str | None
    points: list[tuple[int, int, int]] = field(default_factory=list)
    gone_at: int | None = None


@dataclass(frozen=True)
class BufferLife:
    first_seen: str
    last_changed: str
    sizes: list[int]
    holders: list[int]
    gone_at: str | None
    #: time of each sample of ``sizes`` / ``holders`` (epoch seconds; None: unknown)
    times: list[float | None] = field(default_factory=list)


@dataclass(frozen=True)
class Series:
    """Values over samples, with the time of each (epoch seconds; None: unknown)."""

    times: list[float | None]
    values: list[int]


class History:
    """Sample times, total bytes per sample, buffer tracks, first Rss per pid."""

    #: at most this many samples kept for graphs (the oldest are dropped)
    MAX_GRAPH = 600

    def __init__(self, prune: bool = True) -> None:
        self.lock = threading.Lock()
        #: drop tracks of buffers once they are gone (live); keep them (recording)
        self.prune = prune
        self._times: list[float | None] = []
        self._labels: list[str] = []
        self._totals: list[int] = []
        self._tracks: dict[int, Track] = {}
        #: pid -> (comm, start time, Rss) when first seen: another comm or start time
        #: is another process that reuses the pid, and starts again
        self._first_rss: dict[int, tuple[str, int | None, int]] = {}
        #: per pid: change points (sample, rss) since the pid was first seen as this process
        self._rss: dict[int, list[tuple[int, int]]] = {}
        #: bytes per exporter in the first sample
        self._first_exporters: dict[str, int] = {}
        #: boot id of the last sample: after a reboot no inode or pid is the same thing
        self._boot: str | None = None
        #: the last sample's buffers: one that is the very same object again (the
        #: Assembler reuses an unchanged buffer) leaves its track as it is
        self._last: dict[int, Buffer] = {}

    @property
    def samples(self) -> int:
        with self.lock:
            return len(self._labels)

    def add(self, snap: Snapshot, totals: Totals, procs: list[ProcessStats]) -> int:
        """Record one snapshot; returns its sample number."""
        with self.lock:
            idx = len(self._labels)
            self._labels.append(snap.taken_at)
            self._times.append(parse_time(snap.taken_at))
            self._totals.append(totals.bytes)
            if idx == 0:
                first = self._first_exporters
                for buf in snap.buffers.values():
                    name = buf.exporter or "?"
                    first[name] = first.get(name, 0) + buf.size
            tracks = self._tracks
            if idx and snap.boot_id != self._boot:
                for tr in tracks.values():  # every buffer of the old boot is gone
                    if tr.gone_at is None:
                        tr.gone_at = idx
                        tr.points.append((idx, 0, -1))
                self._first_rss.clear()
                self._rss.clear()
                self._last = {}
            self._boot = snap.boot_id
            # only the buffers that are not the very object of the last sample (its
            # size, exporter and holders are as they were)
            for buf in changed_buffers(snap.buffers, self._last)[1]:
                inode, nh = buf.inode, len(buf.holders)
                tr = tracks.get(inode)
                # a dma-buf's size is fixed: another size (or exporter) on the
                # same inode is a new buffer reusing the number (< 5.18)
                if (
                    tr is None
                    or tr.gone_at is not None
                    or tr.exporter != buf.exporter
                    or tr.points[-1][1] != buf.size
                ):
                    tracks[inode] = Track(idx, buf.exporter, [(idx, buf.size, nh)])
                    continue
                if tr.points[-1][2] != nh:
                    tr.points.append((idx, buf.size, nh))
            buffers = self._last = snap.buffers
            # (every buffer has a track: the same number of tracks, none is gone)
            for inode in (tracks.keys() - buffers.keys()) if len(tracks) > len(buffers) else ():
                tr = tracks[inode]
                if tr.gone_at is None:
                    tr.gone_at = idx
                    tr.points.append((idx, 0, -1))
                elif self.prune:
                    del tracks[inode]
            held = set()
            for p in procs:
                held.add(p.pid)
                first = self._first_rss.get(p.pid)
                rss = self._rss.get(p.pid)
                if first is None or first[0] != p.comm or not same_start(first[1], p.start_time):
                    self._first_rss[p.pid] = (p.comm, p.start_time, p.rss)
                    self._rss[p.pid] = [(idx, p.rss)]
                else:
                    if first[1] is None and p.start_time is not None:
                        self._first_rss[p.pid] = (p.comm, p.start_time, first[2])
                    if rss is None:
                        self._rss[p.pid] = [(idx, p.rss)]
                    elif rss[-1][1] != p.rss:
                        rss.append((idx, p.rss))
            for pid, pts in self._rss.items():  # holds nothing now: Rss 0
                if pid not in held and pts[-1][1] != 0:
                    pts.append((idx, 0))
            if self.prune and len(self._first_rss) > 4 * max(len(procs), 256):
                alive = {p.pid for p in procs}
                self._first_rss = {k: v for k, v in self._first_rss.items() if k in alive}
                self._rss = {k: v for k, v in self._rss.items() if k in alive}
            return idx

    # -- queries (UI thread) ---------------------------------------------
    def totals(self, upto: int | None = None, last: int | None = None) -> list[int]:
        """Total bytes per sample up to ``upto`` (inclusive), the last ``last``."""
        with self.lock:
            end = len(self._totals) if upto is None else upto + 1
            start = 0 if last is None else max(0, end - last)
            return self._totals[start:end]

    def totals_series(self, upto: int | None = None, last: int | None = None) -> Series:
        """:meth:`totals` with the time of each sample."""
        with self.lock:
            end = len(self._totals) if upto is None else upto + 1
            start = 0 if last is None else max(0, end - last)
            return Series(self._times[start:end], self._totals[start:end])

    def rss_series(self, pid: int, at: int | None = None) -> Series:
        """A process's Rss per sample from when it was first seen up to sample
        ``at`` (default: the latest), the last :attr:`MAX_GRAPH` of them."""
        with self.lock:
            pts = self._rss.get(pid)
            end = len(self._labels) - 1 if at is None else at
            pts = [p for p in pts or [] if p[0] <= end]
            if not pts:
                return Series([], [])
            start = max(pts[0][0], end - self.MAX_GRAPH + 1)
            values = _steps(pts, pts[0][0], end, start)
            return Series(self._times[start : end + 1], values)

    def label(self, idx: int) -> str:
        with self.lock:
            return self._labels[idx] if 0 <= idx < len(self._labels) else ""

    def first_exporter_bytes(self, exporter: str) -> int:
        """An exporter's bytes in the first sample (0: it had none then)."""
        return self._first_exporters.get(exporter, 0)

    def buffer_marks(self, inode: int, at: int) -> tuple[float | None, str]:
        """When the buffer was first seen (epoch seconds) and what changed since the
        first sample, as of sample ``at``: ``new`` (it was not there), ``chg`` (its size
        or holder count changed since), else ``""``. Collector thread."""
        tr = self._tracks.get(inode)
        if tr is None:
            return None, ""
        first = self._times[tr.first]
        if at <= 0:
            return first, ""
        if tr.first > 0:
            return first, "new"
        pts = tr.points
        return first, "chg" if len(pts) > 1 and pts[1][0] <= at else ""

    def first_rss(self, pid: int) -> int | None:
        v = self._first_rss.get(pid)
        return None if v is None else v[2]

    def buffer_life(self, inode: int, at: int | None = None) -> BufferLife | None:
        """First seen, last changed and the size / holder-count series of one
        buffer, as of sample ``at`` (default: the latest)."""
        with self.lock:
            tr = self._tracks.get(inode)
            if tr is None:
                return None
            end = len(self._labels) - 1 if at is None else at
            if tr.first > end:
                return None
            pts = [p for p in tr.points if p[0] <= end]
            start = max(tr.first, end - self.MAX_GRAPH + 1)
            sizes: list[int] = []
            holders: list[int] = []
            j = 0
            cur = pts[0]
            for s in range(tr.first, end + 1):
                while j + 1 < len(pts) and pts[j + 1][0] <= s:
                    j += 1
                    cur = pts[j]
                if s >= start:
                    sizes.append(cur[1])
                    holders.append(max(cur[2], 0))
            changed = pts[-1][0]
            gone = tr.gone_at if tr.gone_at is not None and tr.gone_at <= end else None
            return BufferLife(
                first_seen=self._labels[tr.first],
                last_changed=self._labels[changed],
                sizes=sizes,
                holders=holders,
                gone_at=self._labels[gone] if gone is not None else None,
                times=self._times[start : end + 1],
            )


def _steps(points: list[tuple[int, int]], first: int, end: int, start: int) -> list[int]:
    """Values per sample from ``start`` to ``end`` of a series kept as change points
    ``(sample, value)`` beginning at sample ``first``."""
    out: list[int] = []
    j = 0
    cur = points[0][1]
    for s in range(first, end + 1):
        while j + 1 < len(points) and points[j + 1][0] <= s:
            j += 1
            cur = points[j][1]
        if s >= start:
            out.append(cur)
    return out
