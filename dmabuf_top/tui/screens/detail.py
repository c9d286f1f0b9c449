"""Drill-down panes: one buffer (by inode), one process (its buffers)."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from dmabuf_top.analysis.history import Series
from dmabuf_top.analysis.lifecycle import life_story
from dmabuf_top.model import Buffer, Process, same_start
from dmabuf_top.report.events_report import clock_text
from dmabuf_top.report.live_rows import Row
from dmabuf_top.textsafe import printable
from dmabuf_top.tui.keys import DETAIL_KEYS, unavailable_bindings
from dmabuf_top.tui.process_tree import holding_descendants
from dmabuf_top.tui.screens.pane_parts import (
    HOLDER_COLUMNS,
    PROC_BUFFER_COLUMNS,
    Part,
    buffer_fields,
    fields,
    holder_rows,
)
from dmabuf_top.tui.screens.shows_data import ShowsData
from dmabuf_top.tui.screens.signal import ask_signal, can_signal
from dmabuf_top.tui.table.live_table import LiveTable
from dmabuf_top.tui.widgets.graph import TimeGraph, count_text
from dmabuf_top.tui.widgets.header import SHORT_BELOW, SummaryHeader
from dmabuf_top.tui.widgets.key_footer import KeyFooter
from dmabuf_top.tui.widgets.status_line import StatusLine
from dmabuf_top.units import human_bytes, human_delta


class DetailScreen(ShowsData):
    BINDINGS = [k.binding() for k in DETAIL_KEYS] + unavailable_bindings()
    #: id of the table that has the focus
    TABLE_ID = ""

    def signal_target(self) -> int | None:
        """The process F9 / k signals: the pane's process, a buffer's holder chosen."""
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_cmdline":  # (the process pane's: ProcessScreen)
            return False
        return can_signal(self.dapp) if action == "signal" else True

    def action_signal(self) -> None:
        ask_signal(self.dapp, self.signal_target())

    def action_signal_unavailable(self) -> None:
        ask_signal(self.dapp, None)  # (says why not)

    def action_back(self) -> None:
        self.dismiss()

    def on_resize(self, event: events.Resize) -> None:
        """A low terminal (80x24): lower graphs, so the table keeps some rows."""
        self.set_class(event.size.height < SHORT_BELOW, "-short")

    def on_mount(self) -> None:
        # (no scroll: a low terminal opens at the top of the pane, its facts and graphs)
        if self.TABLE_ID:  # (Textual runs this after a subclass's own on_mount)
            self.query_one(f"#{self.TABLE_ID}", LiveTable).focus(scroll_visible=False)
        self.watch_data()

    def on_screen_resume(self) -> None:
        if self.ready:
            self.data_changed()

    def data_changed(self) -> None:
        """New data (or header state): show it."""
        self.show_header()
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
        yield StatusLine()
        yield KeyFooter()

    def show_data(self) -> None:
        app = self.dapp
        prep = app.session.prepared
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
        life = app.session.buffer_life(buf.inode)
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return super().check_action(action, parameters) if action != "toggle_cmdline" else True

    def action_toggle_cmdline(self) -> None:
        """c: the whole command line (wrapped), again one line cut with …"""
        self.query_one("#process-fields").toggle_class("-whole").refresh(layout=True)

    def compose(self) -> ComposeResult:
        yield SummaryHeader(id="header")
        yield Static(id="detail-title", classes="detail-title")
        with Horizontal(id="process-top"):
            yield Static(id="process-fields", classes="fields")
            with Vertical(id="process-graphs", classes="graph"):
                yield Static("Rss over time", classes="graph-label", id="rss-label")
                yield TimeGraph(id="process-graph")
        yield Static("Buffers  (Enter: details)", classes="section", id="process-buffers-label")
        yield LiveTable(PROC_BUFFER_COLUMNS, id="process-buffers")
        yield StatusLine()
        yield KeyFooter()

    def show_data(self) -> None:
        app = self.dapp
        prep = app.session.prepared
        if prep is None:
            return
        snap = prep.snap
        proc = snap.processes.get(self.pid) or snap.ancestors.get(self.pid)
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
            heirs = holding_descendants(self.pid, prep.procs, snap)
            parts += ["  ", (" HOLDS NO DMA-BUF NOW ", "bold reverse $error")]
            if heirs:  # an ancestor (pid 1): what its descendants hold, each buffer once
                inodes = {i for p in heirs for i in p.inodes}
                size = human_bytes(sum(snap.buffers[i].size for i in inodes))
                parts.append(f"  {len(heirs)} descendant{'s' if len(heirs) != 1 else ''}"
                             f" hold {len(inodes)} dma-buf{'s' if len(inodes) != 1 else ''},"
                             f" {size}")
        title.update(Content.assemble(*parts))
        pairs = [
            ("pid", str(self.pid)),
            ("comm", proc.comm if proc else "?"),
            ("cmdline", proc.cmdline if proc else ""),
        ]
        uid = "-" if proc is None or proc.uid is None else str(proc.uid)
        # (one line for user and uid, one for app and cgroup: it fits 80x24 with its table)
        pairs.append(("user", f"{proc.user} (uid {uid})") if proc and proc.user else ("uid", uid))
        if proc is not None and (proc.app or proc.cgroup):
            where = f"  in {proc.cgroup}" if proc.cgroup and proc.cgroup != proc.app else ""
            pairs.append(("app", f"{proc.app or '?'}{where}"))
        if proc is not None and proc.ppid is not None:
            parent = snap.processes.get(proc.ppid) or snap.ancestors.get(proc.ppid)
            pairs.append(("parent", f"{proc.ppid} {parent.comm}" if parent else str(proc.ppid)))
        if stats is not None:
            first = app.session.first_rss(self.pid)
            delta = (
                "" if first is None else f"  (since first seen: {human_delta(stats.rss - first)})"
            )
            pairs += [
                ("buffers", f"{stats.buffers} ({stats.fds} fds, {stats.maps} mappings)"),
                ("Rss", f"{human_bytes(stats.rss)}{delta}"),
                ("Pss", human_bytes(stats.pss)),
            ]
        box = self.query_one("#process-fields", Static)
        box.update(fields(pairs))
        box.tooltip = Content(printable(proc.cmdline)) if proc and proc.cmdline else None
        rss = app.session.rss_series(self.pid)
        trend = len(rss.values) > 1
        plot = self.query_one("#process-graph", TimeGraph)
        plot.show(rss if trend else Series([], []))
        plot.display = trend
        if trend:
            lo, hi = min(rss.values), max(rss.values)
            label = f"Rss over time: {human_bytes(lo)} … {human_bytes(hi)}"
        else:  # (a recording's samples up to the one shown; live: those seen so far)
            session = app.session
            n = session.sample_index + 1 if session.is_recording else session.history.samples
            held = "held dma-bufs in 1" if rss.values else "held no dma-buf in any"
            label = f"Rss over time: {held} of {n} sample{'s' if n != 1 else ''}"
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

