"""Accounting exactly as Android's libdmabufinfo / dmabuf_dump does it.

- Holders of a buffer (for Rss/Pss): distinct pids with an fd or a mapping of it.
- Process Rss: full size of every distinct buffer it holds by fd or mapping.
- Process Pss: sum over those buffers of size / number of such holder pids.
- Process handle bytes (not in dmabuf_dump): full size of every distinct buffer it
  holds by GEM handle only (no fd, no mapping): Rss + handle bytes is all it holds.
- dmabuf total: kernel-wide total when a kernel-wide source was readable,
  else the sum of distinct buffers seen.
- kernel-only bytes = total - bytes of distinct buffers held by some process by
  any means (fd, mapping or GEM handle).

Grouping of buffers by exporter or by name pattern (every run of digits as
``#``) is here too: the views, ``diff`` and ``suspects`` all call it.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from dmabuf_top.model import Buffer, Process, Snapshot


@dataclass
class ProcessStats:
    pid: int
    comm: str
    cmdline: str
    uid: int | None
    buffers: int  # distinct buffers held
    fds: int  # dma-buf fds (a dup counts twice)
    maps: int  # dma-buf mappings
    rss: int
    pss: int  # integer bytes (floor of the exact sum)
    inodes: list[int]
    ppid: int | None = None
    start_time: int | None = None
    #: GEM handles that name dma-bufs (the BPF scan sees them)
    handles: int = 0
    #: bytes of the buffers held by GEM handle only (not in Rss/Pss)
    handle_bytes: int = 0
    #: the app axis (model.Process): owner's name, app, cgroup path; "" when unknown
    user: str = ""
    app: str = ""
    cgroup: str = ""


_DIGITS = re.compile(r"[0-9]+")


@lru_cache(maxsize=16384)
def name_pattern(name: str | None) -> str | None:
    """Buffer names grouped with every run of digits as ``#`` (``leak-17`` ->
    ``leak-#``): a per-frame counter in a name must not hide a leak. Remembered:
    names repeat from one refresh to the next."""
    return None if name is None else _DIGITS.sub("#", name)


@dataclass
class GroupStats:
    """The buffers of one exporter or one name pattern."""

    buffers: int
    bytes: int
    #: some buffer of the group comes from a /dev/dma_heap heap
    heap: bool = False

    @property
    def counts(self) -> tuple[int, int]:
        return self.buffers, self.bytes


#: what buffers can be grouped by, and the key of a buffer for each
GROUP_KEYS = {
    "exporter": lambda buf: buf.exporter or "?",
    "name": lambda buf: name_pattern(buf.name),
}


def group_stats(snap: Snapshot, by: str) -> dict[str | None, GroupStats]:
    """Buffer count and bytes per exporter (``by="exporter"``, ``?`` when unknown)
    or per name pattern (``by="name"``, None for unnamed buffers)."""
    key_of = GROUP_KEYS[by]
    out: dict[str | None, GroupStats] = {}
    for buf in snap.buffers.values():
        key = key_of(buf)
        g = out.get(key)
        if g is None:
            g = out[key] = GroupStats(0, 0)
        g.buffers += 1
        g.bytes += buf.size
        g.heap = g.heap or buf.heap
    return out


@dataclass
class ExporterStats:
    name: str
    buffers: int
    bytes: int
    heap: bool


@dataclass
class Totals:
    buffers: int
    bytes: int
    userspace_bytes: int
    kernel_only_bytes: int
    userspace_rss: int
    userspace_pss: int
    #: True when ``bytes`` came from a kernel-wide source
    kernel_wide: bool


def process_stats(snap: Snapshot) -> list[ProcessStats]:
    """Per-process Rss/Pss, sorted by pid."""
    acc: dict[int, list] = {}
    for buf in snap.buffers.values():
        _hold(acc, buf, None)
    return [_stats(pid, acc[pid], snap.processes.get(pid)) for pid in sorted(acc)]


def _hold(acc: dict[int, list], buf: Buffer, only: int | None) -> None:
    """Count ``buf`` in each of its holders' sums in ``acc`` (``only``: that pid's)."""
    holders = buf.holders
    if not holders:
        return
    size = buf.size
    n = len(holders)  # dmabuf_dump's holders: all but those by GEM handle only
    for h in holders:
        if h.handles and h.by_handle_only:
            n -= 1
    for h in holders:
        if only is not None and h.pid != only:
            continue
        a = acc.get(h.pid)
        if a is None:
            a = acc[h.pid] = [0, 0, 0, 0.0, [], 0, 0]
        a[0] += len(h.fds)
        a[1] += len(h.maps)
        if h.handles:
            a[5] += len(h.handles)
            if h.by_handle_only:
                a[6] += size
                a[4].append(buf.inode)
                continue
        a[2] += size
        a[3] += size / n
        a[4].append(buf.inode)


def _stats(pid: int, sums: list, proc: Process | None) -> ProcessStats:
    fds, maps, rss, pss, inodes, handles, handle_bytes = sums
    return ProcessStats(
        pid=pid,
        comm=proc.comm if proc else "",
        cmdline=proc.cmdline if proc else "",
        uid=proc.uid if proc else None,
        buffers=len(inodes),
        fds=fds,
        maps=maps,
        rss=rss,
        pss=int(pss + 1e-6),
        inodes=sorted(inodes),
        ppid=proc.ppid if proc else None,
        start_time=proc.start_time if proc else None,
        handles=handles,
        handle_bytes=handle_bytes,
        user=proc.user if proc else "",
        app=proc.app if proc else "",
        cgroup=proc.cgroup if proc else "",
    )


def changed_buffers(now: dict[int, Buffer], last: dict[int, Buffer]) -> tuple[
    list[Buffer], list[Buffer], bool
]:
    """The buffers of ``last`` that are not the very object in ``now`` (gone or
    replaced), those of ``now`` not in ``last``, and whether the inodes ``now`` shares
    with ``last`` are in the same order. An unchanged snapshot (the Assembler reuses
    every unchanged Buffer) is told apart without a Python loop over its buffers."""
    if len(now) == len(last) and list(now) == list(last):
        if all(map(operator.is_, now.values(), last.values())):
            return [], [], True
        keys = [k for k, a, b in zip(now, now.values(), last.values(), strict=True)
                if a is not b]
        return [last[k] for k in keys], [now[k] for k in keys], True
    gone = [b for k, b in last.items() if now.get(k) is not b]
    came = [b for k, b in now.items() if last.get(k) is not b]
    kept = [k for k in now if k in last]
    return gone, came, kept == [k for k in last if k in now]


class ProcessSums:
    """:func:`process_stats` and the bytes :func:`totals` counts, kept from one snapshot
    to the next: only the processes that hold (or held) a buffer that is not the very
    object of the snapshot before are summed again, each over its buffers in the
    snapshot's order as :func:`process_stats` sums them, so every figure (Pss, a float
    sum, included) is the one a full recount gives; an unchanged process keeps its
    ProcessStats (made again when its Process is another object)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._last: dict[int, Buffer] = {}
        #: pid -> the inodes it holds (by any means)
        self._held: dict[int, set[int]] = {}
        #: pid -> (the Process its stats were made with, its sums, its stats)
        self._stats: dict[int, tuple[Process | None, list, ProcessStats]] = {}
        #: bytes of every buffer, and of those held by some process
        self.seen = self.userspace = 0

    def update(self, snap: Snapshot) -> list[ProcessStats]:
        """``snap``'s process_stats(), from what changed since the last snapshot."""
        now = snap.buffers
        gone, came, in_order = changed_buffers(now, self._last)
        self._last = now
        if not in_order:  # another order: every sum again (from no snapshot)
            self._reset()
            self._last = now
            gone, came = [], list(now.values())
        held, dirty = self._held, set()
        for sign, bufs in ((-1, gone), (1, came)):
            for b in bufs:
                self.seen += sign * b.size
                if b.holders:
                    self.userspace += sign * b.size
                for h in b.holders:
                    dirty.add(h.pid)
                    inodes = held.setdefault(h.pid, set())
                    (inodes.discard if sign < 0 else inodes.add)(b.inode)
        if dirty:
            at = {k: i for i, k in enumerate(now)}  # (the order process_stats sums in)
            for pid in dirty:
                inodes = held.get(pid)
                if not inodes:
                    held.pop(pid, None)
                    self._stats.pop(pid, None)
                    continue
                acc: dict[int, list] = {}
                for inode in sorted(inodes, key=at.__getitem__):
                    _hold(acc, now[inode], pid)
                proc = snap.processes.get(pid)
                self._stats[pid] = (proc, acc[pid], _stats(pid, acc[pid], proc))
        procs = snap.processes
        out = []
        for pid in sorted(self._stats):
            proc, sums, stats = self._stats[pid]
            if procs.get(pid) is not proc:  # its comm, parent... may be others
                proc = procs.get(pid)
                stats = _stats(pid, sums, proc)
                self._stats[pid] = (proc, sums, stats)
            out.append(stats)
        return out


def without_handles(snap: Snapshot) -> Snapshot:
    """``snap`` as dmabuf_dump sees it: holders by fd or mapping only (GEM handles,
    and the holders that have nothing else, left out); ``snap`` itself when no
    holder has a handle."""
    if not any(h.handles for b in snap.buffers.values() for h in b.holders):
        return snap
    buffers = {
        ino: replace(b, holders=[replace(h, handles=[]) for h in b.holders if not h.by_handle_only])
        for ino, b in snap.buffers.items()
    }
    return replace(snap, buffers=buffers)


def exporter_stats(
    snap: Snapshot, groups: dict[str | None, GroupStats] | None = None
) -> list[ExporterStats]:
    """Per-exporter buffer count and bytes, largest first (``groups``: ``snap``'s
    group_stats by exporter, when known)."""
    if groups is None:
        groups = group_stats(snap, "exporter")
    return sorted(
        (
            ExporterStats(name=str(k), buffers=g.buffers, bytes=g.bytes, heap=g.heap)
            for k, g in groups.items()
        ),
        key=lambda e: (-e.bytes, e.name),
    )


class GroupSums:
    """:func:`group_stats` by exporter and by name pattern, kept from one snapshot to the
    next: a buffer that is the very object of the snapshot before (an unchanged one:
    the Assembler reuses it) is not counted again, so an update costs what changed."""

    def __init__(self) -> None:
        self._last: dict[int, Buffer] = {}
        #: per grouping: key -> [buffers, bytes, heap buffers]
        self._sums: dict[str, dict[str | None, list[int]]] = {by: {} for by in GROUP_KEYS}

    def update(self, snap: Snapshot) -> None:
        """Count ``snap``'s buffers in place of the last snapshot's."""
        gone, came, _ = changed_buffers(snap.buffers, self._last)
        for b in gone:
            self._count(b, -1)
        for b in came:
            self._count(b, 1)
        self._last = snap.buffers

    def _count(self, buf: Buffer, sign: int) -> None:
        for by, key_of in GROUP_KEYS.items():
            sums = self._sums[by]
            key = key_of(buf)
            g = sums.get(key)
            if g is None:
                g = sums[key] = [0, 0, 0]
            g[0] += sign
            g[1] += sign * buf.size
            g[2] += sign * buf.heap
            if not g[0]:
                del sums[key]

    def stats(self, by: str) -> dict[str | None, GroupStats]:
        """What :func:`group_stats` gives for the last snapshot (``by``: exporter, name)."""
        return {k: GroupStats(n, size, heap > 0) for k, (n, size, heap) in self._sums[by].items()}


def totals(
    snap: Snapshot, procs: list[ProcessStats] | None = None, sums: ProcessSums | None = None
) -> Totals:
    """``snap``'s totals (``procs``: its process_stats; ``sums``: a ProcessSums brought
    up to ``snap``, whose byte counts are taken)."""
    if procs is None:
        procs = process_stats(snap)
    if sums is not None:
        seen, userspace = sums.seen, sums.userspace
    else:
        seen = sum(b.size for b in snap.buffers.values())
        userspace = sum(b.size for b in snap.buffers.values() if b.holders)
    kernel_total = snap.kernel.total_bytes
    total = kernel_total if kernel_total is not None else seen
    return Totals(
        buffers=len(snap.buffers),
        bytes=total,
        userspace_bytes=userspace,
        kernel_only_bytes=max(0, total - userspace),
        userspace_rss=sum(p.rss for p in procs),
        userspace_pss=sum(p.pss for p in procs),
        kernel_wide=kernel_total is not None,
    )
