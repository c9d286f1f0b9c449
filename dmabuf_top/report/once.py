"""The ``--once`` output: summary lines, warnings, then one view as a plain-text table
(like ``top -b`` and dmabuf_dump), and a footer line of what the run cost."""

from __future__ import annotations

from dmabuf_top.collect.selfstats import ToolCost
from dmabuf_top.model import Snapshot
from dmabuf_top.report.once_data import sorted_view
from dmabuf_top.report.summary import (
    cost_text,
    gpu_text,
    meminfo_text,
    source_line,
    totals_line,
)
from dmabuf_top.report.table import align
from dmabuf_top.textsafe import shown_line


def render_table(
    snap: Snapshot,
    view: str = "buffers",
    sort: str | None = None,
    reverse: bool = False,
    raw_bytes: bool = False,
    cost: ToolCost | None = None,
) -> str:
    """The whole ``--once`` output: source, totals, warnings, the table, then (with
    ``cost``: what this run cost) a ``cost:`` footer line."""
    cols, _col, rows = sorted_view(snap, view, sort, reverse)
    cells = [[c.format(r, raw_bytes) for c in cols] for r in rows]
    right = {i for i, c in enumerate(cols) if c.kind != "text"}
    out = [source_line(snap), totals_line(snap, raw_bytes)]
    meminfo = meminfo_text(snap.kernel.meminfo_kb, raw_bytes)
    if meminfo:
        out.append(f"dumpsys meminfo: {meminfo}")
    gpu = gpu_text(snap.kernel, raw_bytes)
    if gpu:
        out.append(f"gpu memory (meminfo): {gpu}")
    out += [f"warning: {shown_line(w)}" for w in snap.warnings]
    out.append("")
    out += align([c.title for c in cols], cells, right)
    if cost is not None:
        out += ["", f"cost: {cost_text(snap, cost, raw_bytes)}"]
    return "\n".join(out) + "\n"
