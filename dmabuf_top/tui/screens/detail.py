"""Drill-down panes: one buffer (by inode), one process (its buffers)."""

from __future__ import annotations

from typing import cast

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from dmabuf_top.analysis.lifecycle import life_story
from dmabuf_top.model import Buffer, GemHandle, MapRange, Process, same_start
from dmabuf_top.report.columns import Column
from dmabuf_top.report.events_report import clock_text
from dmabuf_top.textsafe import printable
from dmabuf_top.tui.history import Series
from dmabuf_top.tui.host import AppHost
from dmabuf_top.tui.keys import DETAIL_KEYS
from dmabuf_top.tui.rows import Row
from dmabuf_top.tui.screens.signal import ask_signal
from dmabuf_top.tui.widgets.graph import TimeGraph, count_text
from dmabuf_top.tui.widgets.header import SHORT_BELOW, SummaryHeader
from dmabuf_top.tui.widgets.key_footer import KeyFooter
from dmabuf_top.tui.widgets.live_table import LiveTable
from dmabuf_top.units import human_bytes, human_delta

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
    life = app.buffer_life(buf.inode)
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


class DetailScreen(Screen[None]):
    BINDINGS = [k.binding() for k in DETAIL_KEYS]
    #: mounted: the app may hand it data
    ready = False
    #: id of the table that has the focus
    TABLE_ID = ""

    @property
    def dapp(self) -> AppHost:
        return cast("AppHost", self.app)

    def signal_target(self) -> int | None:
        """The process F9 / k signals: the pane's process, a buffer's holder chosen."""
        return None

    def action_signal(self) -> None:
        ask_signal(self.dapp, self.signal_target())

    def action_back(self) -> None:
        self.dismiss()

    def on_resize(self, event: events.Resize) -> None:
        """A low terminal (80x24): lower graphs, so the table keeps some rows."""
        self.set_class(event.size.height < SHORT_BELOW, "-short")

    def on_mount(self) -> None:
        # (no scroll: a low terminal opens at the top of the pane, its facts and graphs)
        self.query_one(f"#{self.TABLE_ID}", LiveTable).focus(scroll_visible=False)
        self.ready = True
        self.data_changed()

    def on_screen_resume(self) -> None:
        if self.ready:
            self.data_changed()

    def data_changed(self) -> None:
        """New data (or header state): show it."""
        self.dapp.update_header(self.query_one(SummaryHeader))
        self.show_data()

    def show_data(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class BufferScreen(DetailScreen):
    """Everything about one buffer, live."""

    TABLE_ID = "holders"

    def __init__(self, inode: int) -> None:
        super().__init__(id=f"buffer-{inode}")
        self.inode = inode
        self.last: Buffer | None = None
        self.last_procs: dict[int, Process] = {}

    def compose(self) -> ComposeResult:
        yield SummaryHeader(id="header")
        yield Static(id="detail-title", classes="detail-title")
        with VerticalScroll(id="detail-body"):
            with Horizontal(id="buffer-top"):
                yield Static(id="buffer-fields", classes="fields")
                with Vertical(id="buffer-graphs", classes="graph"):
                    yield Static("size over time", classes="graph-label", id="size-label")
                    yield TimeGraph(id="size-graph")
                    yield Static("holders over time", classes="graph-label", id="holders-label")
                    yield TimeGraph(count_text, "dmabuf-meter", id="holders-graph")
            yield Static("Holders", classes="section")
            yield LiveTable(HOLDER_COLUMNS, id="holders")
            yield Static(
                "No process holds it by fd or mapping: only the kernel does (kernel-only).",
                id="no-holders",
                classes="fields",
            )
            yield Static("Attached devices", classes="section")
            yield Static(id="attachments", classes="fields")
            yield Static("Fences", classes="section")
            yield Static(id="fences", classes="fields")
            yield Static("Life (dma-buf events)", classes="section", id="life-label")
            yield Static(id="life", classes="fields")
        yield KeyFooter()

    def show_data(self) -> None:
        app = self.dapp
        prep = app.prepared
        buf = prep.snap.buffers.get(self.inode) if prep is not None else None
        gone = buf is None
        if buf is not None:
            self.last = buf
            self.last_procs = {h.pid: prep.snap.processes[h.pid] for h in buf.holders
                               if h.pid in prep.snap.processes}  # type: ignore[union-attr]
        elif self.last is None and prep is not None:
            # opened on a freed row: what the table still shows of it
            row = next((r for r in prep.rows["buffers"] if r.key == str(self.inode)), None)
            if row is not None:
                self.last = row.obj.buf
                self.last_procs = {
                    p: Process(p, c) for p, c in zip(row.obj.buf.pids, row.obj.comms, strict=False)
                }
        buf = self.last
        title = self.query_one("#detail-title", Static)
        if buf is None:
            title.update(Content.assemble((f"Buffer {self.inode}", "bold"),
                                          ("  not in this snapshot", "$error")))
            return
        name = printable(buf.name) if buf.name is not None else "(unnamed)"
        parts: list[Part] = [
            (f"Buffer {buf.inode}", "bold $primary"),
            "  ",
            (printable(buf.exporter or "?"), "$accent"),
            "  ",
            name,
            "  ",
            (human_bytes(buf.size), "bold"),
        ]
        if gone:
            parts += ["  ", (" FREED ", "bold reverse $error")]
        title.update(Content.assemble(*parts))
        self.query_one("#buffer-fields", Static).update(fields(buffer_fields(buf, app)))
        self.query_one("#holders", LiveTable).sync(holder_rows(buf, self.last_procs))
        self.query_one("#attachments", Static).update(
            fields([("", a) for a in buf.attachments], 2)
            if buf.attachments
            else Content.styled("none listed by the kernel", "$text-muted")
        )
        self.query_one("#fences", Static).update(
            fields([("", f) for f in buf.fences], 2)
            if buf.fences
            else Content.styled("none listed by the kernel", "$text-muted")
        )
        self.query_one("#no-holders", Static).display = not buf.holders
        story = app.session.buffer_story(buf.inode)
        for part in ("#life-label", "#life"):
            self.query_one(part, Static).display = story is not None
        if story is not None:  # made by, imported by, attached... (untrusted comm, device)
            lines = life_story(story, lambda t: clock_text(t)[:12])
            self.query_one("#life", Static).update(fields([("", ln) for ln in lines], 2))
        life = app.buffer_life(buf.inode)
        sizes = life.sizes if life else [buf.size]
        holders = life.holders if life else [len(buf.holders)]
        times = life.times if life else [None]
        trend = len(sizes) > 1  # one sample is no trend: draw nothing
        for graph, data in (("#size-graph", sizes), ("#holders-graph", holders)):
            plot = self.query_one(graph, TimeGraph)
            plot.show(Series(times, data) if trend else Series([], []))
            plot.display = trend
        once = "" if trend else "  (one sample so far)"
        self.query_one("#size-label", Static).update(
            f"size over time: {human_bytes(min(sizes))} … {human_bytes(max(sizes))}{once}"
        )
        self.query_one("#holders-label", Static).update(
            f"holders over time: {min(holders)} … {max(holders)}{once}"
        )


    def signal_target(self) -> int | None:
        key = self.query_one("#holders", LiveTable).cursor_key
        return int(key.split(":", 1)[0]) if key else None

    @on(LiveTable.RowSelected, "#holders")
    def _open_holder(self, event: LiveTable.RowSelected) -> None:
        """Enter on a holder opens that process."""
        event.stop()
        self.dapp.open_process(int(event.key.split(":", 1)[0]))


class ProcessScreen(DetailScreen):
    """One process and the buffers it holds; Enter opens a buffer."""

    TABLE_ID = "process-buffers"

    def __init__(self, pid: int) -> None:
        super().__init__(id=f"process-{pid}")
        self.pid = pid
        #: the start time of the process first shown: a pid with another one later
        #: is another process (the pid was reused), not this one
        self.start_time: int | None = None

    def signal_target(self) -> int | None:
        return self.pid

    def compose(self) -> ComposeResult:
        yield SummaryHeader(id="header")
        yield Static(id="detail-title", classes="detail-title")
        with Horizontal(id="process-top"):
            yield Static(id="process-fields", classes="fields")
            with Vertical(id="process-graphs", classes="graph"):
                yield Static("Rss over time", classes="graph-label", id="rss-label")
                yield TimeGraph(id="process-graph")
        yield Static("Buffers  (Enter: details)", classes="section")
        yield LiveTable(PROC_BUFFER_COLUMNS, id="process-buffers")
        yield KeyFooter()

    def show_data(self) -> None:
        app = self.dapp
        prep = app.prepared
        if prep is None:
            return
        snap = prep.snap
        proc = snap.processes.get(self.pid)
        stats = next((p for p in prep.procs if p.pid == self.pid), None)
        reused = proc is not None and not same_start(self.start_time, proc.start_time)
        if reused:
            proc = stats = None
        elif proc is not None and self.start_time is None:
            self.start_time = proc.start_time
        title = self.query_one("#detail-title", Static)
        comm = printable(proc.comm) if proc else "?"
        parts: list[Part] = [(f"Process {self.pid}", "bold $primary"), "  ", (comm, "$accent")]
        if reused:
            parts += ["  ", (" ENDED: PID REUSED ", "bold reverse $error")]
        elif stats is None:
            parts += ["  ", (" HOLDS NOTHING NOW ", "bold reverse $error")]
        title.update(Content.assemble(*parts))
        pairs = [
            ("pid", str(self.pid)),
            ("comm", proc.comm if proc else "?"),
            ("cmdline", proc.cmdline if proc else ""),
            ("uid", "-" if proc is None or proc.uid is None else str(proc.uid)),
        ]
        pairs += [(k, getattr(proc, k)) for k in ("user", "app", "cgroup") if getattr(proc, k, "")]
        if proc is not None and proc.ppid is not None:
            parent = snap.processes.get(proc.ppid) or snap.ancestors.get(proc.ppid)
            pairs.append(("parent", f"{proc.ppid} {parent.comm}" if parent else str(proc.ppid)))
        if stats is not None:
            first = app.first_rss(self.pid)
            delta = (
                "" if first is None else f"  (since first seen: {human_delta(stats.rss - first)})"
            )
            pairs += [
                ("buffers", f"{stats.buffers} ({stats.fds} fds, {stats.maps} mappings)"),
                ("Rss", f"{human_bytes(stats.rss)}{delta}"),
                ("Pss", human_bytes(stats.pss)),
            ]
        self.query_one("#process-fields", Static).update(fields(pairs))
        rss = app.session.rss_series(self.pid)
        trend = len(rss.values) > 1
        plot = self.query_one("#process-graph", TimeGraph)
        plot.show(rss if trend else Series([], []))
        plot.display = trend
        if trend:
            lo, hi = min(rss.values), max(rss.values)
            label = f"Rss over time: {human_bytes(lo)} … {human_bytes(hi)}"
        else:
            label = "Rss over time: one sample so far"
        self.query_one("#rss-label", Static).update(label)
        rows = []
        for inode in stats.inodes if stats is not None else []:
            b = snap.buffers[inode]
            h = b.holder(self.pid)
            fds = ", ".join(str(f) for f in h.fds) if h and h.fds else "-"
            cells = (
                str(b.inode),
                printable(b.exporter or "?"),
                human_bytes(b.size),
                fds,
                str(len(h.maps) if h else 0),
                str(len(b.holders)),
                printable(b.name) if b.name is not None else "",
            )
            rows.append(Row(str(inode), b, cells, ()))
        rows.sort(key=lambda r: (-r.obj.size, r.obj.inode))
        self.query_one("#process-buffers", LiveTable).sync(rows)

    @on(LiveTable.RowSelected, "#process-buffers")
    def _open(self, event: LiveTable.RowSelected) -> None:
        event.stop()
        self.dapp.open_buffer(int(event.key))

