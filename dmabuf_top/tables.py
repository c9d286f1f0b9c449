"""Headless plain-text tables (``--once``), like ``top -b`` and dmabuf_dump."""

from __future__ import annotations

from . import accounting, views
from .model import Snapshot
from .textsafe import printable
from .units import human_bytes


def _size(n: int, raw_bytes: bool) -> str:
    return f"{n}" if raw_bytes else human_bytes(n)


def source_line(snap: Snapshot) -> str:
    s = snap.source
    where = views.describe_source(s)
    return f"dmabuf-top  {s.kind} {where}  {snap.taken_at}  {s.privilege}"


def totals_line(snap: Snapshot, raw_bytes: bool = False) -> str:
    t = accounting.totals(snap)
    src = "+".join(snap.kernel.sources) if t.kernel_wide else "sum of buffers seen"
    return (
        f"buffers: {t.buffers}  total: {_size(t.bytes, raw_bytes)} ({src})  "
        f"userspace: {_size(t.userspace_bytes, raw_bytes)}  "
        f"kernel-only: {_size(t.kernel_only_bytes, raw_bytes)}  "
        f"rss: {_size(t.userspace_rss, raw_bytes)}  pss: {_size(t.userspace_pss, raw_bytes)}"
    )


def meminfo_line(snap: Snapshot, raw_bytes: bool = False) -> str | None:
    """Device-wide totals from ``dumpsys meminfo`` (adb without root), if any."""
    kb = snap.kernel.meminfo_kb
    if not kb:
        return None
    labels = (
        ("dmabuf", "DMA-BUF"),
        ("dmabuf_mapped", "mapped"),
        ("dmabuf_unmapped", "unmapped"),
        ("heaps", "heaps"),
        ("heaps_pool", "heaps pool"),
    )
    parts = [f"{label} {_size(kb[key] * 1024, raw_bytes)}" for key, label in labels if key in kb]
    return "dumpsys meminfo: " + "  ".join(parts)


def render_table(
    snap: Snapshot,
    view: str = "buffers",
    sort: str | None = None,
    reverse: bool = False,
    raw_bytes: bool = False,
) -> str:
    """The whole ``--once`` output: source, totals, warnings, then the table."""
    cols = views.VIEWS.get(view)
    if cols is None:
        raise views.ViewError(f"unknown view '{view}' (choose from: {', '.join(views.VIEWS)})")
    col = views.column(view, sort or views.DEFAULT_SORT[view])
    rows = views.sort_rows(views.rows(snap, view), col, reverse)
    cells = [[c.format(r, raw_bytes) for c in cols] for r in rows]
    headers = [c.title for c in cols]
    widths = [len(h) for h in headers]
    for line in cells:
        for i, cell in enumerate(line):
            widths[i] = max(widths[i], len(cell))
    right = [c.kind != "text" for c in cols]

    def fmt(line: list[str]) -> str:
        parts = []
        for i, cell in enumerate(line):
            last = i == len(line) - 1
            if right[i]:
                parts.append(cell.rjust(widths[i]))
            else:
                parts.append(cell if last else cell.ljust(widths[i]))
        return "  ".join(parts).rstrip()

    out = [source_line(snap), totals_line(snap, raw_bytes)]
    extra = meminfo_line(snap, raw_bytes)
    if extra:
        out.append(extra)
    out += [f"warning: {printable(w)}" for w in snap.warnings]
    out.append("")
    out.append(fmt(headers))
    out += [fmt(line) for line in cells]
    return "\n".join(out) + "\n"
