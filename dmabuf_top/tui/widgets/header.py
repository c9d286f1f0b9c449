"""The summary at the top: source, privilege, totals and state (fitted to the width:
source, sample position and totals with Pss stay at 80 columns), meters (dma-buf as a
share of RAM, userspace vs kernel-only, the largest exporters: one line-API widget, a
line each, built only when a meter changes) and a graph of the total bytes over time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.renderables.bar import Bar
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from dmabuf_top.analysis.accounting import Totals
from dmabuf_top.analysis.history import Series
from dmabuf_top.model import Snapshot
from dmabuf_top.report.summary import meminfo_text
from dmabuf_top.textsafe import printable, shown_line
from dmabuf_top.tui.refresher import HeaderState
from dmabuf_top.tui.table.layout import clip, text_width
from dmabuf_top.tui.widgets.graph import TimeGraph
from dmabuf_top.units import human_bytes

Part = tuple[str, str] | str


def privilege_text(snap: Snapshot) -> str:
    n = len(snap.unreadable_pids)
    if snap.source.privilege == "root" and not n:
        return "root"
    if n:
        return f"limited: {n} process{'es' if n != 1 else ''} unreadable"
    return "limited"


def fit_parts(groups: Sequence[tuple[int, list[Part]]], width: int) -> list[Part]:
    """The parts of ``groups`` (priority, parts; 0 = most important) that fit in
    ``width`` cells: the least important groups are left out first."""
    keep = list(groups)

    def length(gs: Sequence[tuple[int, list[Part]]]) -> int:
        text = sum(parts_width(parts) for _, parts in gs)
        return text + 2 * (len(gs) - 1)  # the gaps between groups

    while len(keep) > 1 and length(keep) > width:
        worst = max(range(len(keep)), key=lambda i: (keep[i][0], i))
        del keep[worst]
    out: list[Part] = []
    for i, (_, parts) in enumerate(keep):
        out += (["  "] if i else []) + parts
    return out


def source_parts(state: HeaderState, width: int = 1000) -> list[Part]:
    """Source, privilege, sample position, time; at a narrow width the title and
    the kernel go first, never the sample position."""
    snap = state.snap
    title: tuple[int, list[Part]] = (4, [("dmabuf-top", "bold $primary")])
    if snap is None:
        return fit_parts([title, (0, [printable(state.source)])], width)
    s = snap.source
    groups: list[tuple[int, list[Part]]] = [title]
    if state.live:
        where = state.source
    else:  # the file shown, then where its snapshot was taken
        groups.append((0, [("file ", "$text-muted"), (printable(state.source), "bold")]))
        where = s.label()
    groups.append((3, [(f"{s.kind} ", "$text-muted"), printable(where)]))
    priv = privilege_text(snap)
    groups.append((1, [(priv, "bold $success" if priv == "root" else "bold $warning")]))
    if state.sample:
        groups.append((0, [(state.sample, "bold $accent")]))
    groups.append((2, [(printable(snap.taken_at), "$text-muted")]))
    return fit_parts(groups, width)


def totals_parts(t: Totals | None, sources: Sequence[str], width: int = 1000) -> list[Part]:
    """Buffers, total (and where it comes from), userspace, kernel-only, Rss, Pss;
    at a narrow width the total, Rss and Pss stay."""
    if t is None:
        return [("waiting for the first scan…", "$text-muted")]

    def item(label: str, value: str, style: str = "bold") -> list[Part]:
        return [(f"{label} ", "$text-muted"), (value, style)]

    where = "+".join(sources) if t.kernel_wide else "sum seen"
    total = item("total", human_bytes(t.bytes), "bold $accent")
    return fit_parts(
        [
            (2, item("buffers", str(t.buffers))),
            (0, [*total, (f" ({where})", "$text-muted")] if width >= 100 else total),
            (3, item("userspace", human_bytes(t.userspace_bytes))),
            (3, item("kernel-only", human_bytes(t.kernel_only_bytes))),
            (1, item("Rss", human_bytes(t.userspace_rss))),
            (0, item("Pss", human_bytes(t.userspace_pss))),
        ],
        width,
    )


def parts_width(parts: Sequence[Part]) -> int:
    """Cells the parts take."""
    return sum(text_width(p if isinstance(p, str) else p[0]) for p in parts)


def status_parts(state: HeaderState, width: int = 1000) -> list[Part]:
    """Pause or interval, cost, dumpsys meminfo, a failed refresh, then the first
    warning. With a warning the rest is fitted (fit_parts) to leave it room, and a
    warning still too long for ``width`` ends in ``…`` (``?`` lists them whole)."""
    groups: list[tuple[int, list[Part]]] = []
    if state.live:
        if state.paused:
            groups.append((0, [(" PAUSED ", "bold reverse $warning")]))
        else:
            groups.append((0, [(f"every {state.delay:g}s", "$text-muted")]))
        if state.cost:
            groups.append((3, [(state.cost, "$text-muted")]))
    elif state.sample:
        groups.append((0, [("recording: [ ] step, { } first/last", "$text-muted")]))
    else:
        groups.append((0, [("static snapshot", "$text-muted")]))
    snap = state.snap
    meminfo = meminfo_text(snap.kernel.meminfo_kb) if snap is not None else ""
    if meminfo:
        groups.append((2, [("device (dumpsys meminfo) ", "$text-muted"), (meminfo, "bold")]))
    if state.failed:
        groups.append((0, [("last refresh failed: ", "bold $error"), shown_line(state.failed),
                           ("  (showing the last good data)", "$text-muted")]))
    warnings = [*state.notes, *(snap.warnings if snap is not None else [])]
    if not warnings:
        return fit_parts(groups, 10**6)  # (nothing left out: as wide as it is)
    parts = fit_parts(groups, width - 24)  # the warning's room first
    more = len(warnings) - 1
    tail = f" (+{more} more: ? lists them)" if more else ""
    if more and width - parts_width(parts) - 4 - len(tail) < 12:
        tail = f" (+{more})"
    room = width - parts_width(parts) - 4 - len(tail)
    first = clip(shown_line(warnings[0]), max(room, 1))
    return [*parts, "  ", ("⚠ ", "$dmabuf-warning"), (first, "$dmabuf-warning"),
            (tail, "$text-muted")]


# -- the meters --------------------------------------------------------------------
@dataclass(frozen=True)
class Meter:
    """One bar of the header: a share of a whole."""

    label: str
    part: int
    whole: int
    #: the numbers beside the bar
    text: str

    @property
    def share(self) -> float:
        """``part`` of ``whole``, 0 to 1."""
        return min(1.0, max(0.0, self.part / self.whole)) if self.whole > 0 else 0.0

    @property
    def percent(self) -> str:
        return f"{round(self.share * 100)}%"


def meters(state: HeaderState) -> list[Meter]:
    """dma-buf total as a share of RAM (when the RAM is known), the GPU memory in use
    as one (when the kernel says: GPUActive, 7.0+), userspace vs kernel-only, then the
    largest exporters' shares of the total."""
    t, snap = state.totals, state.snap
    if t is None or snap is None:
        return []
    out: list[Meter] = []
    ram = snap.kernel.mem_total
    if ram:
        out.append(Meter("of RAM", t.bytes, ram, f"{human_bytes(t.bytes)} of {human_bytes(ram)}"))
    active, reclaim = snap.kernel.gpu_active, snap.kernel.gpu_reclaim
    if ram and (active, reclaim) != (None, None):
        def h(n: int | None) -> str:
            return "n/a" if n is None else human_bytes(n)

        out.append(Meter("GPU", active or 0, ram, f"{h(active)}, reclaim {h(reclaim)}"))
    whole = t.userspace_bytes + t.kernel_only_bytes
    out.append(Meter(
        "userspace", t.userspace_bytes, whole,
        f"{human_bytes(t.userspace_bytes)}, kernel-only {human_bytes(t.kernel_only_bytes)}",
    ))
    for name, nbytes in state.exporters:
        out.append(Meter(printable(name), nbytes, whole, human_bytes(nbytes)))
    return out


#: cells of a meter's parts: label, bar (the least: it grows with the width, as btop's),
#: percentage (right-aligned, a blank before it), the blanks before the numbers
LABEL, BAR, PERCENT, GAP = 11, 22, 4, 2


def bar_width(width: int, texts: Sequence[str]) -> int:
    """The bar's cells in a box ``width`` wide: what the label, percentage and the
    longest numbers leave (at least :data:`BAR`)."""
    longest = max((len(t) for t in texts), default=0)
    return max(BAR, width - LABEL - 1 - PERCENT - GAP - longest - 1)


class MeterBars(Widget):
    """Meters, one a line, as many lines as meters (a lower box shows the first)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "meter-bars--label",
        "meter-bars--bar",
        "meter-bars--empty",
        "meter-bars--percent",
        "meter-bars--text",
    }

    DEFAULT_CSS = """
    MeterBars {
        height: auto;
        & > .meter-bars--label { color: $text-muted; }
        & > .meter-bars--bar { color: $dmabuf-meter; }
        & > .meter-bars--empty { color: $dmabuf-meter-empty; }
        & > .meter-bars--percent { text-style: bold; }
        & > .meter-bars--text { color: $text-muted; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.meters: tuple[Meter, ...] = ()
        self._lines: dict[int, Strip] = {}

    def show(self, shown: Sequence[Meter]) -> None:
        """Show ``shown`` (the same meters again are no work)."""
        shown = tuple(shown)
        if shown == self.meters:  # (most refreshes change no share)
            return
        relayout = len(shown) != len(self.meters)
        self.meters = shown
        self._lines.clear()
        self.refresh(layout=relayout)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return len(self.meters)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()  # a new theme: new colours

    def on_resize(self) -> None:
        self._lines.clear()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self.meters):
            return Strip.blank(width, self.rich_style)
        strip = self._lines.get(y)
        if strip is None:
            strip = self._lines[y] = self._line(self.meters[y]).crop_extend(
                0, width, self.rich_style
            )
        return strip

    def _line(self, meter: Meter) -> Strip:
        base = self.rich_style
        part = self.get_component_rich_style
        cells = bar_width(self.size.width, [m.text for m in self.meters])
        bar = Bar(
            highlight_range=(0, cells * meter.share),
            highlight_style=Style.from_color(part("meter-bars--bar").color),
            background_style=Style.from_color(part("meter-bars--empty").color),
            width=cells,
        )
        bar_line = self.app.console.render_lines(
            bar, self.app.console.options.update_width(cells), style=base, pad=True
        )[0]
        label = meter.label[: LABEL - 1].ljust(LABEL)  # (printable: meters() made it so)
        return Strip([
            Segment(label, part("meter-bars--label")),  # (whole styles: muted colours
            *bar_line,  # are blended with the background)
            Segment(" ", base),
            Segment(meter.percent.rjust(PERCENT), part("meter-bars--percent")),
            Segment(" " * GAP, base),
            Segment(meter.text, part("meter-bars--text")),
        ])


# -- the header --------------------------------------------------------------------
#: terminals lower than this show the short header; lower than TINY_BELOW no meters at
#: all (40x10 keeps data rows)
SHORT_BELOW, TINY_BELOW = 32, 16
#: the graph's rows: a share of the terminal's height (btop's grow so), at least 5
GRAPH_SHARE = 5


class SummaryHeader(Vertical):
    """Three lines of text, then meters (left) beside a graph of the total bytes
    over time with a byte scale and a time axis (right); a short terminal keeps
    two meter lines and no graph."""

    def compose(self) -> ComposeResult:
        yield Static(id="header-source")
        yield Static(id="header-totals")
        yield Static(id="header-status")
        with Horizontal(id="header-body"):
            yield MeterBars(id="header-meters")
            yield TimeGraph(title="dma-buf total", id="header-graph", classes="graph")

    def on_mount(self) -> None:
        self.state = HeaderState()
        #: each line's parts as shown, by id
        self._lines: dict[str, list[Part]] = {}
        self.fit_height()

    def fit_height(self) -> None:
        """The short header on a low terminal (80x24): meters take two lines; none on
        a tiny one (40x10). The graph grows with the height."""
        height = self.app.size.height
        self.set_class(height < SHORT_BELOW, "-short")
        self.set_class(height < TINY_BELOW, "-tiny")
        rows = max(5, height // GRAPH_SHARE)
        graph = self.query_one("#header-graph", TimeGraph)
        if graph.styles.height is None or graph.styles.height.value != rows:
            graph.styles.height = rows

    def on_resize(self) -> None:
        self.fit_height()
        self.show_text(self.state)

    def show_text(self, state: HeaderState) -> None:
        """The three lines of text; a line the same as shown is left as it is."""
        width = max(20, self.content_region.width or self.app.size.width - 2)
        sources = state.snap.kernel.sources if state.snap is not None else []
        for line, parts in (
            ("header-source", source_parts(state, width)),
            ("header-totals", totals_parts(state.totals, sources, width)),
            ("header-status", status_parts(state, width)),
        ):
            if self._lines.get(line) != parts:
                self._lines[line] = parts
                self.query_one(f"#{line}", Static).update(Content.assemble(*parts), layout=False)

    def show(self, state: HeaderState, graph: Series) -> None:
        self.state = state
        self.fit_height()
        self.show_text(state)
        self.query_one(MeterBars).show(meters(state))
        plot = self.query_one(TimeGraph)
        plot.show(graph)
        plot.set_class(len(graph.values) < 2, "-no-trend")  # one sample: no empty box
