"""Per app sums: each app's processes (``Process.app``), their Rss, Pss and handle
bytes added up from the per-process figures of :mod:`accounting` (so an app's sums
are exactly those of its processes), its cgroups' own dma-buf charge, and why the
kernel gives no such charge where it gives none."""

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
    #: what the memory controller charges its cgroups for heap pages. No kernel
    #: gives that apart: 7.0+ with ``dma_heap.mem_accounting`` counts them in
    #: memory.stat's ``kernel`` with the rest of the cgroup's kernel memory (seen on
    #: 7.3: no key of their own), so it stays None; :func:`unavailable` says why
    memcg_heap: int | None = None

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


#: why the memcg heap charge is unavailable, by ``KernelInfo.heap_accounting``
MEMCG_WHY = {
    "on": "heap pages counted in memory.stat kernel, not separately",
    "off": "dma_heap.mem_accounting off",
    "absent": "no dma_heap.mem_accounting before Linux 7.0",
}


#: why dmem is unavailable on a kernel built without the controller (Debian's, to 7.3)
NO_DMEM = "no dmem controller (CONFIG_CGROUP_DMEM, Linux 6.14+)"


def _dmem_why(snap: Snapshot) -> str:
    if snap.source.kind == "adb":
        return "not read over adb"
    if not snap.charges:
        return "not recorded" if snap.kernel.heap_accounting is None else "no cgroup v2 read"
    if all(c.dmem_current is None for c in snap.charges.values()):
        return NO_DMEM
    return "no device region charged"


def unavailable(snap: Snapshot, apps: list[AppStats]) -> dict[str, str]:
    """Why the kernel's own charge is missing (the Apps view's "unavailable", never
    0): column key (``dmem``, ``memcg_heap``) -> the reason, for each charge that
    some app has no figure for."""
    out = {}
    if any(a.dmem_bytes is None for a in apps):
        out["dmem"] = _dmem_why(snap)
    if any(a.memcg_heap is None for a in apps):
        state = snap.kernel.heap_accounting
        if state is None:
            out["memcg_heap"] = "not read over adb" if snap.source.kind == "adb" else "not recorded"
        else:
            out["memcg_heap"] = MEMCG_WHY[state]
    return out
