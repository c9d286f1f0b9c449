"""What changed between two snapshots (the computation; text and data are in
:mod:`dmabuf_top.report.diff_report`): buffers that appeared, disappeared or
changed holders, and the change of every process (Rss/Pss), exporter and
buffer name, largest growth first. Buffer names are grouped by pattern, every
run of digits as ``#`` (``frame 17`` and ``frame 18`` are ``frame #``).

Buffer identity across snapshots is (boot id, inode). Kernels >= 5.18 number
dma-buf inodes with a per-boot 64-bit counter that is never reused; older ones
(5.3-5.17, and any kernel whose release cannot be read) reuse inode numbers,
so there the exporter and size must match too. Snapshots of different boots
have no buffer in common. A process is (boot id, pid, start time): a pid whose
start time changed (or in another boot) is another process, listed as one that
ended and one that is new.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dmabuf_top.analysis import accounting
from dmabuf_top.analysis.apps import app_stats
from dmabuf_top.model import Buffer, Snapshot, same_start

UNNAMED = "(unnamed)"


def kernel_version(release: str) -> tuple[int, int] | None:
    """(major, minor) of a kernel release such as ``6.1.0-56-amd64``."""
    m = re.match(r"\s*(\d+)\.(\d+)", release or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def inodes_reused(release: str) -> bool:
    """Whether this kernel may reuse dma-buf inode numbers (< 5.18, or unknown)."""
    v = kernel_version(release)
    return v is None or v < (5, 18)


@dataclass(frozen=True)
class Identity:
    """How buffers of A and B are matched."""

    same_boot: bool
    #: exporter and size must match as well as the inode
    strict: bool
    #: one line for people
    note: str


def identity(a: Snapshot, b: Snapshot) -> Identity:
    if a.boot_id and b.boot_id and a.boot_id != b.boot_id:
        return Identity(
            False, False, "different boot ids: no buffer of A can be a buffer of B (rebooted)"
        )
    unknown = "" if a.boot_id and b.boot_id else " (boot id unknown: assumed the same boot)"
    olds = [s.source.kernel for s in (a, b) if inodes_reused(s.source.kernel)]
    if olds:
        k = olds[0] or "unknown"
        return Identity(
            True,
            True,
            f"boot id + inode + exporter + size: kernel {k} is older than 5.18 or unknown, "
            f"it reuses inode numbers{unknown}",
        )
    return Identity(
        True, False, f"boot id + inode (kernel >= 5.18 never reuses inode numbers){unknown}"
    )


@dataclass
class BufferEntry:
    """A buffer as the diff lists it."""

    inode: int
    exporter: str | None
    name: str | None
    size: int
    #: (pid, comm, fds, maps, GEM handles) per holder
    holders: list[tuple[int, str, int, int, int]]


@dataclass
class BufferChange:
    """The same buffer in A and B, with another name or other holders."""

    a: BufferEntry
    b: BufferEntry


@dataclass
class ProcessChange:
    pid: int
    comm: str
    #: comm in A when it differs from B's (a renamed process, or a reused pid)
    comm_before: str | None
    buffers_a: int
    buffers_b: int
    rss_a: int
    rss_b: int
    pss_a: int
    pss_b: int
    #: the pid is another process in the other snapshot (it was reused, or the
    #: machine rebooted): "ended" on the row of A's process, "new" on B's
    pid_reused: str | None = None

    @property
    def rss_delta(self) -> int:
        return self.rss_b - self.rss_a

    @property
    def pss_delta(self) -> int:
        return self.pss_b - self.pss_a

    @property
    def buffers_delta(self) -> int:
        return self.buffers_b - self.buffers_a


@dataclass
class GroupChange:
    """An exporter or a buffer name: buffer count and bytes in A and B."""

    key: str | None
    buffers_a: int
    buffers_b: int
    bytes_a: int
    bytes_b: int

    @property
    def label(self) -> str:
        return UNNAMED if self.key is None else self.key

    @property
    def bytes_delta(self) -> int:
        return self.bytes_b - self.bytes_a

    @property
    def buffers_delta(self) -> int:
        return self.buffers_b - self.buffers_a


TOTAL_KEYS = (
    ("buffers", "buffers"),
    ("bytes", "bytes"),
    ("userspace_bytes", "userspace"),
    ("kernel_only_bytes", "kernel-only"),
    ("userspace_rss", "rss"),
    ("userspace_pss", "pss"),
)


@dataclass
class SnapshotDiff:
    a: Snapshot
    b: Snapshot
    identity: Identity
    appeared: list[BufferEntry] = field(default_factory=list)
    disappeared: list[BufferEntry] = field(default_factory=list)
    changed: list[BufferChange] = field(default_factory=list)
    #: processes whose buffer count, Rss or Pss changed (a process that freed one
    #: buffer and allocated a same-size one is not listed), largest growth first
    processes: list[ProcessChange] = field(default_factory=list)
    exporters: list[GroupChange] = field(default_factory=list)
    names: list[GroupChange] = field(default_factory=list)
    #: apps whose distinct buffers or Rss changed (bytes: the app's Rss)
    apps: list[GroupChange] = field(default_factory=list)
    #: key -> (A, B), keys of TOTAL_KEYS
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: labels of A and B for output (file@sample)
    a_label: str = "A"
    b_label: str = "B"

    @property
    def has_changes(self) -> bool:
        return bool(
            self.appeared
            or self.disappeared
            or self.changed
            or self.processes
            or any(x != y for x, y in self.totals.values())
        )


def _entry(buf: Buffer, comm: dict[int, str]) -> BufferEntry:
    return BufferEntry(
        inode=buf.inode,
        exporter=buf.exporter,
        name=buf.name,
        size=buf.size,
        holders=[
            (h.pid, comm.get(h.pid, ""), len(h.fds), len(h.maps), len(h.handles))
            for h in buf.holders
        ],
    )


def _group_changes(a: Snapshot, b: Snapshot, by: str) -> list[GroupChange]:
    ga, gb = accounting.group_stats(a, by), accounting.group_stats(b, by)
    none = accounting.GroupStats(0, 0)
    rows = []
    for key in set(ga) | set(gb):
        na, ba = ga.get(key, none).counts
        nb, bb = gb.get(key, none).counts
        if (na, ba) != (nb, bb):
            rows.append(GroupChange(key, na, nb, ba, bb))
    rows.sort(key=lambda g: (-g.bytes_delta, -g.buffers_delta, g.label))
    return rows


def _app_changes(a: Snapshot, b: Snapshot) -> list[GroupChange]:
    """Each app's distinct buffers and Rss in A and B, where they changed."""
    ga = {s.app: (s.buffers, s.rss) for s in app_stats(a)}
    gb = {s.app: (s.buffers, s.rss) for s in app_stats(b)}
    rows = []
    for key in set(ga) | set(gb):
        (na, ba), (nb, bb) = ga.get(key, (0, 0)), gb.get(key, (0, 0))
        if (na, ba) != (nb, bb):
            rows.append(GroupChange(key, na, nb, ba, bb))
    rows.sort(key=lambda g: (-g.bytes_delta, -g.buffers_delta, g.label))
    return rows


def _process_change(
    pid: int,
    x: accounting.ProcessStats | None,
    y: accounting.ProcessStats | None,
    pid_reused: str | None = None,
) -> ProcessChange:
    return ProcessChange(
        pid=pid,
        comm=(y or x).comm,  # type: ignore[union-attr]
        comm_before=x.comm if x and y and x.comm != y.comm else None,
        buffers_a=x.buffers if x else 0,
        buffers_b=y.buffers if y else 0,
        rss_a=x.rss if x else 0,
        rss_b=y.rss if y else 0,
        pss_a=x.pss if x else 0,
        pss_b=y.pss if y else 0,
        pid_reused=pid_reused,
    )


def _held_as(e: BufferEntry) -> tuple[str | None, list[tuple[int, int, int, int]]]:
    """Name and (pid, fds, maps, handles) per holder: what makes a buffer "changed"."""
    return e.name, [(p, f, m, g) for p, _c, f, m, g in e.holders]


def _size_order(e: BufferEntry) -> tuple[int, int]:
    return (-e.size, e.inode)


def diff_snapshots(
    a: Snapshot, b: Snapshot, a_label: str = "A", b_label: str = "B"
) -> SnapshotDiff:
    """Everything that changed from ``a`` to ``b``."""
    ident = identity(a, b)
    comm_a = {pid: p.comm for pid, p in a.processes.items()}
    comm_b = {pid: p.comm for pid, p in b.processes.items()}
    d = SnapshotDiff(a=a, b=b, identity=ident, a_label=a_label, b_label=b_label)
    for ino, bb in b.buffers.items():
        ba = a.buffers.get(ino) if ident.same_boot else None
        if ba is not None and ident.strict and (ba.exporter, ba.size) != (bb.exporter, bb.size):
            ba = None  # an old kernel gave a freed buffer's inode to a new one
        if ba is None:
            d.appeared.append(_entry(bb, comm_b))
            continue
        ea, eb = _entry(ba, comm_a), _entry(bb, comm_b)
        if _held_as(ea) != _held_as(eb):
            d.changed.append(BufferChange(ea, eb))
    matched_b = {e.inode for e in d.appeared}
    for ino, ba in a.buffers.items():
        bb = b.buffers.get(ino) if ident.same_boot else None
        if bb is None or ino in matched_b:
            d.disappeared.append(_entry(ba, comm_a))
    d.appeared.sort(key=_size_order)
    d.disappeared.sort(key=_size_order)
    d.changed.sort(key=lambda c: (-c.b.size, c.b.inode))

    pa = {p.pid: p for p in accounting.process_stats(a)}
    pb = {p.pid: p for p in accounting.process_stats(b)}
    for pid in set(pa) | set(pb):
        x, y = pa.get(pid), pb.get(pid)
        if x and y and not (ident.same_boot and same_start(x.start_time, y.start_time)):
            # two processes that had one pid: A's ended, B's is new
            d.processes.append(_process_change(pid, x, None, "ended"))
            d.processes.append(_process_change(pid, None, y, "new"))
            continue
        row = _process_change(pid, x, y)
        if row.rss_delta or row.pss_delta or row.buffers_delta or row.comm_before is not None:
            d.processes.append(row)
    d.processes.sort(key=lambda p: (-p.rss_delta, -p.pss_delta, -p.buffers_delta, p.pid))
    d.exporters = _group_changes(a, b, "exporter")
    d.names = _group_changes(a, b, "name")
    d.apps = _app_changes(a, b)
    ta, tb = accounting.totals(a), accounting.totals(b)
    d.totals = {k: (getattr(ta, k), getattr(tb, k)) for k, _ in TOTAL_KEYS}
    return d
