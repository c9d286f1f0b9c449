"""What changed between two snapshots: buffers that appeared, disappeared or
changed holders, and the change of every process (Rss/Pss), exporter and
buffer name, largest growth first. Buffer names are grouped by pattern, every
run of digits as ``#`` (``frame 17`` and ``frame 18`` are ``frame #``).

Buffer identity across snapshots is (boot id, inode). Kernels >= 5.18 number
dma-buf inodes with a per-boot 64-bit counter that is never reused; older ones
(5.3-5.17, and any kernel whose release cannot be read) reuse inode numbers,
so there the exporter and size must match too. Snapshots of different boots
have no buffer in common.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import accounting
from .model import Buffer, Snapshot
from .textsafe import printable
from .units import human_bytes, human_delta

DIFF_SCHEMA = "dmabuf-top-diff/1"
UNNAMED = "(unnamed)"


_DIGITS = re.compile(r"[0-9]+")


def name_pattern(name: str | None) -> str | None:
    """Buffer names grouped with every run of digits as ``#`` (``leak-17`` ->
    ``leak-#``): a per-frame counter in a name must not hide a leak."""
    return None if name is None else _DIGITS.sub("#", name)


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
    #: (pid, comm, fds, maps) per holder
    holders: list[tuple[int, str, int, int]]


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
        holders=[(h.pid, comm.get(h.pid, ""), len(h.fds), len(h.maps)) for h in buf.holders],
    )


def _groups(snap: Snapshot, by_name: bool) -> dict[str | None, tuple[int, int]]:
    out: dict[str | None, list[int]] = {}
    for buf in snap.buffers.values():
        key = name_pattern(buf.name) if by_name else (buf.exporter or "?")
        g = out.setdefault(key, [0, 0])
        g[0] += 1
        g[1] += buf.size
    return {k: (v[0], v[1]) for k, v in out.items()}


def _group_changes(a: Snapshot, b: Snapshot, by_name: bool) -> list[GroupChange]:
    ga, gb = _groups(a, by_name), _groups(b, by_name)
    rows = []
    for key in set(ga) | set(gb):
        na, ba = ga.get(key, (0, 0))
        nb, bb = gb.get(key, (0, 0))
        if (na, ba) != (nb, bb):
            rows.append(GroupChange(key, na, nb, ba, bb))
    rows.sort(key=lambda g: (-g.bytes_delta, -g.buffers_delta, g.label))
    return rows


def _held_as(e: BufferEntry) -> tuple[str | None, list[tuple[int, int, int]]]:
    """Name and (pid, fds, maps) per holder: what makes a buffer "changed"."""
    return e.name, [(p, f, m) for p, _c, f, m in e.holders]


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
        row = ProcessChange(
            pid=pid,
            comm=(y or x).comm,  # type: ignore[union-attr]
            comm_before=x.comm if x and y and x.comm != y.comm else None,
            buffers_a=x.buffers if x else 0,
            buffers_b=y.buffers if y else 0,
            rss_a=x.rss if x else 0,
            rss_b=y.rss if y else 0,
            pss_a=x.pss if x else 0,
            pss_b=y.pss if y else 0,
        )
        if row.rss_delta or row.pss_delta or row.buffers_delta or row.comm_before is not None:
            d.processes.append(row)
    d.processes.sort(key=lambda p: (-p.rss_delta, -p.pss_delta, -p.buffers_delta, p.pid))
    d.exporters = _group_changes(a, b, by_name=False)
    d.names = _group_changes(a, b, by_name=True)
    ta, tb = accounting.totals(a), accounting.totals(b)
    d.totals = {k: (getattr(ta, k), getattr(tb, k)) for k, _ in TOTAL_KEYS}
    return d


# ---------------------------------------------------------------- output


def _holders_text(holders: list[tuple[int, str, int, int]]) -> str:
    return ", ".join(f"{printable(c) or '?'}({p})" for p, c, _f, _m in holders) or "-"


def _size(n: int, raw: bool) -> str:
    return str(n) if raw else human_bytes(n)


def _delta(n: int, raw: bool, is_bytes: bool = True) -> str:
    if not is_bytes:
        return f"{n:+d}" if n else "0"
    if raw:
        return f"{n:+d}" if n else "0"
    return human_delta(n)


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [len(h) for h in headers]
    for r in rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], len(cell))

    def fmt(cells: list[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            last = i == len(cells) - 1
            if i in right:
                out.append(cell.rjust(widths[i]))
            else:
                out.append(cell if last else cell.ljust(widths[i]))
        return "  " + "  ".join(out).rstrip()

    return [fmt(headers)] + [fmt(r) for r in rows]


def _describe(label: str, s: Snapshot) -> str:
    boot = f"boot {s.boot_id[:8]}" if s.boot_id else "boot ?"
    return (
        f"{printable(label)}  {s.taken_at}  {s.source.kind} {printable(s.source.host)}  "
        f"kernel {s.source.kernel or '?'}  {boot}"
    )


def _buffer_rows(entries: list[BufferEntry], raw: bool) -> list[list[str]]:
    return [
        [
            str(e.inode),
            printable(e.exporter or "?"),
            _size(e.size, raw),
            printable(e.name) if e.name is not None else "-",
            _holders_text(e.holders),
        ]
        for e in entries
    ]


def render_text(d: SnapshotDiff, raw_bytes: bool = False) -> str:
    """The diff for people: header, totals, then every section that has rows."""
    raw = raw_bytes
    out = [
        f"A: {_describe(d.a_label, d.a)}",
        f"B: {_describe(d.b_label, d.b)}",
        f"identity: {d.identity.note}",
    ]
    if not d.has_changes:
        out.append("no change")
        return "\n".join(out) + "\n"
    out.append("")
    trows = []
    for key, title in TOTAL_KEYS:
        x, y = d.totals[key]
        is_bytes = key != "buffers"
        fmt = (lambda n: _size(n, raw)) if is_bytes else str
        trows.append([title, fmt(x), fmt(y), _delta(y - x, raw, is_bytes)])
    out += _table(["TOTAL", "A", "B", "CHANGE"], trows, {1, 2, 3})
    cols = ["INODE", "EXPORTER", "SIZE", "NAME", "HOLDERS"]
    for title, entries, sign in (
        ("appeared", d.appeared, 1),
        ("disappeared", d.disappeared, -1),
    ):
        if entries:
            total = sum(e.size for e in entries)
            out += ["", f"{title}: {len(entries)} buffers, {_delta(sign * total, raw)}"]
            out += _table(cols, _buffer_rows(entries, raw), {0, 2})
    if d.changed:
        out += ["", f"changed: {len(d.changed)} buffers (name or holders)"]
        rows = []
        for c in d.changed:
            name = printable(c.b.name) if c.b.name is not None else "-"
            if c.a.name != c.b.name:
                was = printable(c.a.name) if c.a.name is not None else "-"
                name = f"{was} -> {name}"
            rows.append(
                [
                    str(c.b.inode),
                    printable(c.b.exporter or "?"),
                    _size(c.b.size, raw),
                    name,
                    f"{_holders_text(c.a.holders)} -> {_holders_text(c.b.holders)}",
                ]
            )
        out += _table(cols, rows, {0, 2})
    if d.processes:
        out += ["", "processes (Rss/Pss change, largest growth first):"]
        rows = []
        for p in d.processes:
            comm = printable(p.comm)
            if p.comm_before is not None:
                comm += f" (was {printable(p.comm_before)})"
            rows.append(
                [
                    str(p.pid),
                    comm,
                    f"{p.buffers_a}->{p.buffers_b}",
                    _size(p.rss_a, raw),
                    _size(p.rss_b, raw),
                    _delta(p.rss_delta, raw),
                    _size(p.pss_a, raw),
                    _size(p.pss_b, raw),
                    _delta(p.pss_delta, raw),
                ]
            )
        heads = ["PID", "COMM", "BUFS", "RSS A", "RSS B", "RSS +/-", "PSS A", "PSS B", "PSS +/-"]
        out += _table(heads, rows, {0, 2, 3, 4, 5, 6, 7, 8})
    for title, groups, head in (
        ("exporters", d.exporters, "EXPORTER"),
        ("buffer names (digits as #)", d.names, "NAME"),
    ):
        if groups:
            out += ["", f"{title}:"]
            rows = [
                [
                    printable(g.label),
                    str(g.buffers_a),
                    str(g.buffers_b),
                    _delta(g.buffers_delta, raw, False),
                    _size(g.bytes_a, raw),
                    _size(g.bytes_b, raw),
                    _delta(g.bytes_delta, raw),
                ]
                for g in groups
            ]
            heads = [head, "BUFS A", "BUFS B", "BUFS +/-", "BYTES A", "BYTES B", "BYTES +/-"]
            out += _table(heads, rows, {1, 2, 3, 4, 5, 6})
    return "\n".join(out) + "\n"


def _entry_dict(e: BufferEntry) -> dict[str, Any]:
    return {
        "inode": e.inode,
        "exporter": e.exporter,
        "name": e.name,
        "size": e.size,
        "holders": [{"pid": p, "comm": c, "fds": f, "maps": m} for p, c, f, m in e.holders],
    }


def _side(label: str, s: Snapshot) -> dict[str, Any]:
    return {
        "label": label,
        "taken_at": s.taken_at,
        "boot_id": s.boot_id,
        "kernel": s.source.kernel,
        "source": s.source.kind,
        "host": s.source.host,
    }


def diff_to_dict(d: SnapshotDiff) -> dict[str, Any]:
    """The diff for machines (``--format yaml``), schema ``dmabuf-top-diff/1``."""
    return {
        "schema": DIFF_SCHEMA,
        "a": _side(d.a_label, d.a),
        "b": _side(d.b_label, d.b),
        "identity": {
            "same_boot": d.identity.same_boot,
            "keys": ["boot_id", "inode"] + (["exporter", "size"] if d.identity.strict else []),
            "note": d.identity.note,
        },
        "changed": d.has_changes,
        "totals": {k: {"a": x, "b": y, "delta": y - x} for k, (x, y) in d.totals.items()},
        "appeared": [_entry_dict(e) for e in d.appeared],
        "disappeared": [_entry_dict(e) for e in d.disappeared],
        "changed_buffers": [{"a": _entry_dict(c.a), "b": _entry_dict(c.b)} for c in d.changed],
        "processes": [
            {
                "pid": p.pid,
                "comm": p.comm,
                "comm_before": p.comm_before,
                "buffers": {"a": p.buffers_a, "b": p.buffers_b, "delta": p.buffers_delta},
                "rss": {"a": p.rss_a, "b": p.rss_b, "delta": p.rss_delta},
                "pss": {"a": p.pss_a, "b": p.pss_b, "delta": p.pss_delta},
            }
            for p in d.processes
        ],
        "exporters": [_group_dict(g) for g in d.exporters],
        "names": [_group_dict(g) for g in d.names],
    }


def _group_dict(g: GroupChange) -> dict[str, Any]:
    return {
        "name": g.key,
        "buffers": {"a": g.buffers_a, "b": g.buffers_b, "delta": g.buffers_delta},
        "bytes": {"a": g.bytes_a, "b": g.bytes_b, "delta": g.bytes_delta},
    }
