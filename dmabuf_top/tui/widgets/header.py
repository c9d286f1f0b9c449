"""The summary at the top: source, privilege, totals, state, and a sparkline
of total dma-buf bytes over the session."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Sparkline, Static

from dmabuf_top.analysis.accounting import Totals
from dmabuf_top.model import Snapshot
from dmabuf_top.report.summary import meminfo_text
from dmabuf_top.textsafe import printable
from dmabuf_top.tui.session import HeaderState
from dmabuf_top.units import human_bytes

Part = tuple[str, str] | str


def privilege_text(snap: Snapshot) -> str:
    n = len(snap.unreadable_pids)
    if snap.source.privilege == "root" and not n:
        return "root"
    if n:
        return f"limited: {n} process{'es' if n != 1 else ''} unreadable"
    return "limited"


def source_parts(state: HeaderState) -> list[Part]:
    snap = state.snap
    parts: list[Part] = [("dmabuf-top", "bold $primary"), "  "]
    if snap is None:
        parts.append(printable(state.source))
        return parts
    s = snap.source
    if state.live:
        where = state.source
    else:  # the file shown, then where its snapshot was taken
        parts += [("file ", "$text-muted"), (printable(state.source), "bold"), "  "]
        where = s.label()
    parts += [(f"{s.kind} ", "$text-muted"), printable(where)]
    priv = privilege_text(snap)
    parts += ["  ", (priv, "bold $success" if priv == "root" else "bold $warning")]
    if state.sample:
        parts += ["  ", (state.sample, "bold $accent")]
    parts += ["  ", (printable(snap.taken_at), "$text-muted")]
    return parts


def totals_parts(t: Totals | None, sources: Sequence[str]) -> list[Part]:
    if t is None:
        return [("waiting for the first scan…", "$text-muted")]

    def item(label: str, value: str) -> list[Part]:
        return [(f"{label} ", "$text-muted"), (value, "bold"), "  "]

    where = "+".join(sources) if t.kernel_wide else "sum seen"
    parts: list[Part] = []
    parts += item("buffers", str(t.buffers))
    parts += [("total ", "$text-muted"), (human_bytes(t.bytes), "bold $accent")]
    parts += [(f" ({where})", "$text-muted"), "  "]
    parts += item("userspace", human_bytes(t.userspace_bytes))
    parts += item("kernel-only", human_bytes(t.kernel_only_bytes))
    parts += item("Rss", human_bytes(t.userspace_rss))
    parts += item("Pss", human_bytes(t.userspace_pss))
    return parts[:-1]



def status_parts(state: HeaderState) -> list[Part]:
    parts: list[Part] = []
    if state.live:
        if state.paused:
            parts.append((" PAUSED ", "bold reverse $warning"))
        else:
            parts.append((f"every {state.delay:g}s", "$text-muted"))
    elif state.sample:
        parts.append(("recording: [ ] step, Home/End first/last", "$text-muted"))
    else:
        parts.append(("static snapshot", "$text-muted"))
    snap = state.snap
    meminfo = meminfo_text(snap.kernel.meminfo_kb) if snap is not None else ""
    if meminfo:
        parts += ["  ", ("device (dumpsys meminfo) ", "$text-muted"), (meminfo, "bold")]
    if state.failed:
        parts += ["  ", ("last refresh failed: ", "bold $error"), printable(state.failed)]
        parts.append(("  (showing the last good data)", "$text-muted"))
    warnings = [*state.notes, *(snap.warnings if snap is not None else [])]
    if warnings:
        first = printable(warnings[0])
        more = len(warnings) - 1
        parts += ["  ", ("⚠ ", "$dmabuf-warning"), (first, "$dmabuf-warning")]
        if more:
            parts.append((f" (+{more} more: ? lists them)", "$text-muted"))
    return parts


class SummaryHeader(Vertical):
    """Three lines of text; the total-bytes sparkline ends the third."""

    def compose(self) -> ComposeResult:
        yield Static(id="header-source")
        yield Static(id="header-totals")
        with Horizontal(id="header-body"):
            yield Static(id="header-status")
            yield Sparkline([], id="header-graph", classes="graph")

    def show(self, state: HeaderState, graph: Sequence[float]) -> None:
        self.query_one("#header-source", Static).update(
            Content.assemble(*source_parts(state)), layout=False
        )
        sources = state.snap.kernel.sources if state.snap is not None else []
        self.query_one("#header-totals", Static).update(
            Content.assemble(*totals_parts(state.totals, sources)), layout=False
        )
        self.query_one("#header-status", Static).update(
            Content.assemble(*status_parts(state)), layout=False
        )
        spark = self.query_one("#header-graph", Sparkline)
        spark.data = list(graph) if len(graph) > 1 else []  # one sample is no trend
        peak = max(graph) if graph else 0
        spark.tooltip = f"total bytes over the session (peak {human_bytes(peak)})"
