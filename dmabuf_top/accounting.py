"""Accounting exactly as Android's libdmabufinfo / dmabuf_dump does it.

- Holders of a buffer: distinct pids with an fd or a mapping of it.
- Process Rss: full size of every distinct buffer it holds.
- Process Pss: sum over its buffers of size / number of holder pids.
- dmabuf total: kernel-wide total when a kernel-wide source was readable,
  else the sum of distinct buffers seen.
- kernel-only bytes = total - bytes of distinct buffers held by some process.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Snapshot


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
        n = len(buf.holders)
        if not n:
            continue
        for h in buf.holders:
            a = acc.setdefault(h.pid, [0, 0, 0, 0.0, []])
            a[0] += len(h.fds)
            a[1] += len(h.maps)
            a[2] += buf.size
            a[3] += buf.size / n
            a[4].append(buf.inode)
    out = []
    for pid in sorted(acc):
        fds, maps, rss, pss, inodes = acc[pid]
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
            )
        )
    return out


def exporter_stats(snap: Snapshot) -> list[ExporterStats]:
    """Per-exporter buffer count and bytes, largest first."""
    acc: dict[str, list] = {}
    for buf in snap.buffers.values():
        name = buf.exporter or "?"
        a = acc.setdefault(name, [0, 0, False])
        a[0] += 1
        a[1] += buf.size
        a[2] = a[2] or buf.heap
    return sorted(
        (ExporterStats(name=k, buffers=v[0], bytes=v[1], heap=v[2]) for k, v in acc.items()),
        key=lambda e: (-e.bytes, e.name),
    )


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
