"""What the drill-down panes show, built from the snapshot: their tables' columns, the
``label  value`` field lines, a buffer's holder rows and facts, a process's buffer rows."""

from __future__ import annotations

from textual.content import Content

from dmabuf_top.model import Buffer, GemHandle, MapRange, Process
from dmabuf_top.report.columns import Column
from dmabuf_top.report.live_rows import Row
from dmabuf_top.textsafe import printable
from dmabuf_top.tui.host import AppHost
from dmabuf_top.units import human_bytes

Part = tuple[str, str] | str


def _col(key: str, title: str, kind: str, width: int) -> Column:
    return Column(key, title, lambda r: None, kind, width)


HOLDER_COLUMNS = [
    _col("pid", "PID", "int", 7),
    _col("comm", "COMM", "text", 16),
    _col("fds", "FDS", "text", 12),
    _col("map", "MAPPED RANGE", "text", 27),
    _col("perms", "PERMS", "text", 5),
    _col("len", "LENGTH", "bytes", 8),
    _col("cmdline", "CMDLINE", "text", 48),
]

PROC_BUFFER_COLUMNS = [
    _col("inode", "INODE", "int", 8),
    _col("exporter", "EXPORTER", "text", 12),
    _col("size", "SIZE", "bytes", 9),
    _col("fds", "FDS", "text", 12),
    _col("maps", "MAPS", "int", 5),
    _col("procs", "PROCS", "int", 5),
    _col("name", "NAME", "text", 32),
]


def fields(pairs: list[tuple[str, str]], width: int = 14) -> Content:
    """``label  value`` lines; values are untrusted and shown literally."""
    parts: list[Part] = []
    for i, (label, value) in enumerate(pairs):
        if i:
            parts.append("\n")
        parts += [(f"{label:<{width}}", "$text-muted"), printable(value)]
    return Content.assemble(*parts)


def holder_rows(buf: Buffer, procs: dict[int, Process]) -> list[Row]:
    """A row per mapping of each holder (one with ``-`` when it has none but fds),
    then one per GEM handle: ``via GEM handle 3 on card0 (vgem)``."""
    rows: list[Row] = []
    for h in buf.holders:
        p = procs.get(h.pid)
        comm = printable(p.comm if p else "?")
        cmd = printable(p.cmdline if p else "")
        fds = ", ".join(str(f) for f in h.fds) or "-"
        maps: list[MapRange | None] = list(h.maps) or ([] if h.by_handle_only else [None])
        ways: list[MapRange | GemHandle | None] = [*maps, *h.handles]
        for i, m in enumerate(ways):
            first = i == 0
            if isinstance(m, GemHandle):
                rng, perms, length = printable(f"via {m.label()}"), "", ""
            else:
                rng = f"{m.start:x}-{m.end:x}" if m else "-"
                perms, length = (m.perms, human_bytes(m.length)) if m else ("", "")
            cells = (
                str(h.pid) if first else "",
                comm if first else "",
                fds if first else "",
                rng,
                perms,
                length,
                cmd if first else "",
            )
            rows.append(Row(f"{h.pid}:{i}", h, cells, ()))
    return rows


def _by_handle_only(buf: Buffer) -> str:
    n = sum(1 for h in buf.holders if h.by_handle_only)
    return f" ({n} by GEM handle only)" if n else ""


def buffer_fields(buf: Buffer, app: AppHost) -> list[tuple[str, str]]:
    life = app.session.buffer_life(buf.inode)
    heap = " (dma-heap)" if buf.heap else ""
    pairs = [
        ("inode", str(buf.inode)),
        ("exporter", (buf.exporter or "?") + heap),
        ("name", buf.name if buf.name is not None else "(unnamed)"),
        ("size", f"{human_bytes(buf.size)} ({buf.size} bytes)"),
        ("refcount", "-" if buf.count is None else str(buf.count)),
        ("holders", f"{len(buf.holders)} process{'es' if len(buf.holders) != 1 else ''}"
         + _by_handle_only(buf)),
        ("seen by", ", ".join(buf.sources) or "-"),
    ]
    if buf.flags is not None or buf.mode is not None:
        flags = "-" if buf.flags is None else f"{buf.flags:08x}"
        mode = "-" if buf.mode is None else f"{buf.mode:08x}"
        pairs.append(("flags / mode", f"{flags} / {mode}"))
    if life is not None:
        pairs.append(("first seen", life.first_seen))
        pairs.append(("last changed", life.last_changed))
        if life.gone_at:
            pairs.append(("freed", f"gone at {life.gone_at}"))
    return pairs
