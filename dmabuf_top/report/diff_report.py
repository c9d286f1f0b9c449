"""A snapshot diff for people (text) and for machines (data, schema
``dmabuf-top-diff/1``)."""

from __future__ import annotations

from typing import Any

from dmabuf_top.analysis.diff import TOTAL_KEYS, BufferEntry, GroupChange, SnapshotDiff
from dmabuf_top.model import Snapshot
from dmabuf_top.report.table import align
from dmabuf_top.textsafe import printable
from dmabuf_top.units import delta_text, size_text

DIFF_SCHEMA = "dmabuf-top-diff/1"
#: the diff's tables are indented under their section titles
INDENT = "  "


def _holders_text(holders: list[tuple[int, str, int, int, int]]) -> str:
    """``comm(pid)`` per holder; ``comm(pid by handle)`` for one that holds the buffer
    by GEM handle only."""
    return ", ".join(
        f"{printable(c) or '?'}({p}{' by handle' if g and not f and not m else ''})"
        for p, c, f, m, g in holders
    ) or "-"


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
            size_text(e.size, raw),
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
        fmt = (lambda n: size_text(n, raw)) if is_bytes else str
        trows.append([title, fmt(x), fmt(y), delta_text(y - x, raw, is_bytes)])
    out += align(["TOTAL", "A", "B", "CHANGE"], trows, {1, 2, 3}, indent=INDENT)
    cols = ["INODE", "EXPORTER", "SIZE", "NAME", "HOLDERS"]
    for title, entries, sign in (
        ("appeared", d.appeared, 1),
        ("disappeared", d.disappeared, -1),
    ):
        if entries:
            total = sum(e.size for e in entries)
            out += ["", f"{title}: {len(entries)} buffers, {delta_text(sign * total, raw)}"]
            out += align(cols, _buffer_rows(entries, raw), {0, 2}, indent=INDENT)
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
                    size_text(c.b.size, raw),
                    name,
                    f"{_holders_text(c.a.holders)} -> {_holders_text(c.b.holders)}",
                ]
            )
        out += align(cols, rows, {0, 2}, indent=INDENT)
    if d.processes:
        out += ["", "processes (Rss/Pss change, largest growth first):"]
        rows = []
        for p in d.processes:
            comm = printable(p.comm)
            if p.comm_before is not None:
                comm += f" (was {printable(p.comm_before)})"
            if p.pid_reused is not None:
                comm += f" ({p.pid_reused}: pid reused)"
            rows.append(
                [
                    str(p.pid),
                    comm,
                    f"{p.buffers_a}->{p.buffers_b}",
                    size_text(p.rss_a, raw),
                    size_text(p.rss_b, raw),
                    delta_text(p.rss_delta, raw),
                    size_text(p.pss_a, raw),
                    size_text(p.pss_b, raw),
                    delta_text(p.pss_delta, raw),
                ]
            )
        heads = ["PID", "COMM", "BUFS", "RSS A", "RSS B", "RSS +/-", "PSS A", "PSS B", "PSS +/-"]
        out += align(heads, rows, {0, 2, 3, 4, 5, 6, 7, 8}, indent=INDENT)
    for title, groups, head, what in (
        ("exporters", d.exporters, "EXPORTER", "BYTES"),
        ("buffer names (digits as #)", d.names, "NAME", "BYTES"),
        ("apps", d.apps, "APP", "RSS"),
    ):
        if groups:
            out += ["", f"{title}:"]
            rows = [
                [
                    printable(g.label),
                    str(g.buffers_a),
                    str(g.buffers_b),
                    delta_text(g.buffers_delta, raw, False),
                    size_text(g.bytes_a, raw),
                    size_text(g.bytes_b, raw),
                    delta_text(g.bytes_delta, raw),
                ]
                for g in groups
            ]
            heads = [head, "BUFS A", "BUFS B", "BUFS +/-", f"{what} A", f"{what} B", f"{what} +/-"]
            out += align(heads, rows, {1, 2, 3, 4, 5, 6}, indent=INDENT)
    return "\n".join(out) + "\n"


def _entry_dict(e: BufferEntry) -> dict[str, Any]:
    return {
        "inode": e.inode,
        "exporter": e.exporter,
        "name": e.name,
        "size": e.size,
        "holders": [
            {"pid": p, "comm": c, "fds": f, "maps": m, **({"handles": g} if g else {})}
            for p, c, f, m, g in e.holders
        ],
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
                "pid_reused": p.pid_reused,
                "buffers": {"a": p.buffers_a, "b": p.buffers_b, "delta": p.buffers_delta},
                "rss": {"a": p.rss_a, "b": p.rss_b, "delta": p.rss_delta},
                "pss": {"a": p.pss_a, "b": p.pss_b, "delta": p.pss_delta},
            }
            for p in d.processes
        ],
        "exporters": [_group_dict(g) for g in d.exporters],
        "names": [_group_dict(g) for g in d.names],
        "apps": [_app_dict(g) for g in d.apps],
    }


def _app_dict(g: GroupChange) -> dict[str, Any]:
    """An app's change: its distinct buffers and its Rss in A and B."""
    gd = _group_dict(g)
    return {"app": g.key, "buffers": gd["buffers"], "rss": gd["bytes"]}


def _group_dict(g: GroupChange) -> dict[str, Any]:
    return {
        "name": g.key,
        "buffers": {"a": g.buffers_a, "b": g.buffers_b, "delta": g.buffers_delta},
        "bytes": {"a": g.bytes_a, "b": g.bytes_b, "delta": g.bytes_delta},
    }
