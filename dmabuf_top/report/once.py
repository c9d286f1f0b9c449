"""The ``--once`` output: summary lines, warnings, then one view as a plain-text table
(like ``top -b`` and dmabuf_dump), and a footer line of what the run cost (a sample of
a file: which file and sample it is, and this run's cost apart from the recorded scan's)."""

from __future__ import annotations

from dataclasses import dataclass

from dmabuf_top.analysis.apps import unavailable
from dmabuf_top.collect.selfstats import ToolCost
from dmabuf_top.model import Snapshot
from dmabuf_top.report.once_data import sorted_view
from dmabuf_top.report.summary import (
    cost_text,
    file_lines,
    gpu_text,
    meminfo_text,
    source_line,
    totals_line,
)
from dmabuf_top.report.table import align
from dmabuf_top.textsafe import shown_line


@dataclass(frozen=True)
class FileSample:
    """Where a sample shown comes from when it is read from a file: the file's path,
    the sample's index (0-based) and how many samples there are."""

    path: str
    index: int
    count: int


def render_table(
    snap: Snapshot,
    view: str = "buffers",
    sort: str | None = None,
    reverse: bool = False,
    raw_bytes: bool = False,
    cost: ToolCost | None = None,
    sample: FileSample | None = None,
) -> str:
    """The whole ``--once`` output: source, totals, warnings, the table, then (with
    ``cost``: what this run cost) a ``cost:`` footer line. With ``sample`` (read from a
    file) the header names the file and sample, and the footer keeps this run's cost
    apart from the scan the recording made."""
    cols, _col, rows = sorted_view(snap, view, sort, reverse)
    cells = [[c.format(r, raw_bytes) for c in cols] for r in rows]
    right = {i for i, c in enumerate(cols) if c.kind != "text"}
    out = [source_line(snap)] if sample is None else file_lines(
        snap, sample.path, sample.index, sample.count)
    out.append(totals_line(snap, raw_bytes))
    meminfo = meminfo_text(snap.kernel.meminfo_kb, raw_bytes)
    if meminfo:
        out.append(f"dumpsys meminfo: {meminfo}")
    gpu = gpu_text(snap.kernel, raw_bytes)
    if gpu:
        out.append(f"gpu memory (meminfo): {gpu}")
    out += [f"warning: {shown_line(w)}" for w in snap.warnings]
    out.append("")
    out += align([c.title for c in cols], cells, right)
    if view == "apps":
        titles = {c.key: c.title for c in cols}
        why = unavailable(snap, rows)
        out += [""] * bool(why) + [f"{titles[k]} unavailable: {w}" for k, w in why.items()]
    if cost is not None and sample is None:
        out += ["", f"cost: {cost_text(snap, cost, raw_bytes)}"]
    elif cost is not None:
        out += ["", f"cost of this run: {cost_text(None, cost, raw_bytes)}"]
        recorded = cost_text(snap, None, raw_bytes)
        if recorded:
            out.append(f"cost when recorded: {recorded}")
    return "\n".join(out) + "\n"
