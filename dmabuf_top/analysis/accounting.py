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

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from dmabuf_top.model import Buffer, Snapshot


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
        holders = buf.holders
        if not holders:
            continue
        size = buf.size
        n = len(holders)  # dmabuf_dump's holders: all but those by GEM handle only
        for h in holders:
            if h.handles and h.by_handle_only:
                n -= 1
        for h in holders:
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
    out = []
    for pid in sorted(acc):
        fds, maps, rss, pss, inodes, handles, handle_bytes = acc[pid]
        proc = snap.processes.get(pid)
        out.append(
            ProcessStats(
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
        )
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
        now, last = snap.buffers, self._last
        for inode, b in last.items():
            if now.get(inode) is not b:
                self._count(b, -1)
        for inode, b in now.items():
            if last.get(inode) is not b:
                self._count(b, 1)
        self._last = now

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


def totals(snap: Snapshot, procs: list[ProcessStats] | None = None) -> Totals:
    if procs is None:
        procs = process_stats(snap)
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
