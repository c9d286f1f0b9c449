"""Per app sums: each app's processes (``Process.app``), their Rss, Pss and handle
bytes added up from the per-process figures of :mod:`accounting` (so an app's sums
are exactly those of its processes), and its cgroups' own dma-buf charge."""

from __future__ import annotations

from dataclasses import dataclass, field

from dmabuf_top.analysis.accounting import ProcessStats, process_stats
from dmabuf_top.model import CgroupCharge, Snapshot

#: the app of a process whose app is unknown (a file from before the app axis)
UNKNOWN_APP = "?"


@dataclass
class AppStats:
    app: str
    #: the processes' pids, sorted
    pids: list[int] = field(default_factory=list)
    rss: int = 0
    pss: int = 0
    #: bytes held by GEM handle only (not in Rss/Pss)
    handle_bytes: int = 0
    #: distinct buffers its processes hold
    buffers: int = 0
    #: its cgroup paths, sorted
    cgroups: list[str] = field(default_factory=list)
    #: the kernel's dmem charge of its cgroups, bytes summed over regions and
    #: cgroups; None when no cgroup of it has a ``dmem.current`` listing a region
    #: (unavailable: no dmem controller, or no device registered a region)
    dmem_bytes: int | None = None

    @property
    def procs(self) -> int:
        return len(self.pids)


def _dmem_bytes(charges: list[CgroupCharge]) -> int | None:
    known = [c.dmem_current for c in charges if c.dmem_current]
    if not known:
        return None
    return sum(v or 0 for regions in known for v in regions.values())


def app_stats(snap: Snapshot, procs: list[ProcessStats] | None = None) -> list[AppStats]:
    """One entry per app (sorted by name), summing its processes' figures."""
    if procs is None:
        procs = process_stats(snap)
    apps: dict[str, AppStats] = {}
    inodes: dict[str, set[int]] = {}
    for p in procs:
        name = p.app or UNKNOWN_APP
        a = apps.get(name)
        if a is None:
            a = apps[name] = AppStats(name)
            inodes[name] = set()
        a.pids.append(p.pid)
        a.rss += p.rss
        a.pss += p.pss
        a.handle_bytes += p.handle_bytes
        inodes[name].update(p.inodes)
        if p.cgroup and p.cgroup not in a.cgroups:
            a.cgroups.append(p.cgroup)
    for name, a in apps.items():
        a.buffers = len(inodes[name])
        a.pids.sort()
        a.cgroups.sort()
        a.dmem_bytes = _dmem_bytes([snap.charges[c] for c in a.cgroups if c in snap.charges])
    return [apps[k] for k in sorted(apps)]
