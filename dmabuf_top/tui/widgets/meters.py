"""The header's meters as one widget: ``label  ━━━━━━╸━━━━━  42%  numbers`` a line
each (dma-buf as a share of RAM, GPU memory (7.0+) as one, userspace vs kernel-only,
the largest exporters), drawn on the line API with Textual's bar renderable; one widget,
not a ProgressBar (and its three children) per meter, and its lines built only when a
meter changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.renderables.bar import Bar
from textual.strip import Strip
from textual.widget import Widget

from dmabuf_top.textsafe import printable
from dmabuf_top.tui.refresher import HeaderState
from dmabuf_top.units import human_bytes


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
