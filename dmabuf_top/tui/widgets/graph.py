"""A value over time as a real graph (textual-plotext): braille line, a scale on the
left (bytes or counts), a time axis below (clock times of the first and last sample,
or sample numbers when times are unknown). Drawn only from the series given: the same
series always gives the same picture."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import RenderResult
from textual.color import Color
from textual.geometry import Size
from textual_plotext import PlotextPlot

from dmabuf_top.analysis.history import Series
from dmabuf_top.units import human_bytes


def clock(t: float) -> str:
    """Epoch seconds as the UTC time of day, ``06:09:40``."""
    s = int(t) % 86400
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def time_axis(times: Sequence[float | None]) -> tuple[list[float], list[float], list[str]]:
    """x of each sample (seconds before the last one, or sample numbers when a time
    is unknown), and the ticks: first and last (and the middle when there is room)."""
    n = len(times)
    known = [t for t in times if t is not None]
    if len(known) == n and n and known[-1] > known[0]:
        xs = [t - known[-1] for t in known]
        ticks = [xs[0], 0.0]
        labels = [clock(known[0]), clock(known[-1])]
    else:
        xs = [float(i + 1) for i in range(n)]
        ticks = [xs[0], xs[-1]] if n else []
        labels = [f"#{int(x)}" for x in ticks]
    return xs, ticks, labels


def value_scale(values: Sequence[float], fmt: Callable[[float], str], zero: bool = False) -> tuple[
    tuple[float, float], list[float], list[str]
]:
    """y limits and ticks: the lowest and highest value (a flat series sits in the
    middle of a band around its value); ``zero``: from 0 to the highest, so a rise of
    10% looks like one."""
    lo, hi = min(values), max(values)
    if zero and lo >= 0 and hi > 0:
        lo = 0.0
    if lo == hi:
        pad = max(abs(lo) * 0.1, 1.0)
        return (lo - pad, hi + pad), [lo], [fmt(lo)]
    return (lo, hi), [lo, hi], [fmt(lo), fmt(hi)]


class TimeGraph(PlotextPlot):
    """One series over time; ``show(series)`` draws it (nothing for fewer than two
    samples: one sample is no trend). The line has the theme variable ``colour``."""

    def __init__(
        self,
        fmt: Callable[[float], str] = human_bytes,
        colour: str = "dmabuf-graph",
        title: str = "",
        *,
        id: str | None = None,  # noqa: A002 - Textual's name
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.fmt = fmt
        self.colour = colour
        #: written over the plot (its scale's start added: "from 0" or "from the lowest")
        self.title = title
        #: the scale starts at 0 (the app's ``0`` key), else at the lowest value
        self.zero = False
        self.series = Series([], [])
        #: what the plot drawn last was of: (drawing number, size, theme), and it
        self._drawn: tuple[tuple[int, Size, str], RenderResult] | None = None
        self._drawing = 0
        self.show(self.series, again=True)  # the empty plot: no axes

    def use_zero(self, zero: bool) -> None:
        """Scale from 0 (``zero``) or from the lowest value; drawn again if it changed."""
        if zero != self.zero:
            self.zero = zero
            self.show(self.series, again=True)

    def on_mount(self) -> None:  # (PlotextPlot's own on_mount runs too)
        self.use_zero(bool(getattr(self.app, "zero_scale", False)))  # (a pane opened after 0)
        self.app.theme_changed_signal.subscribe(
            self, lambda _theme: self.show(self.series, again=True)
        )

    def line_rgb(self) -> tuple[int, int, int]:
        value = self.app.theme_variables.get(self.colour) or self.app.theme_variables["primary"]
        return Color.parse(value).rgb

    def show(self, series: Series, again: bool = False) -> None:
        """Draw ``series`` (the same series again is no work unless ``again``)."""
        if series == self.series and not again:
            return
        self.series = series
        plt = self.plt
        plt.clear_figure()
        plt.frame(False)
        values = series.values
        if len(values) >= 2:
            xs, xticks, xlabels = time_axis(series.times)
            (lo, hi), yticks, ylabels = value_scale(values, self.fmt, self.zero)
            plt.plot(xs, list(values), marker="braille", color=self.line_rgb())
            plt.xlim(xs[0], xs[-1])
            plt.ylim(lo, hi)
            plt.xticks(xticks, xlabels)
            plt.yticks(yticks, ylabels)
        else:
            plt.xticks([])
            plt.yticks([])
        if self.title:
            plt.title(f"{self.title}, from {'0' if self.zero else 'the lowest'}")
        self._drawing += 1
        self.refresh()

    def render(self) -> RenderResult:
        """The plot, built by plotext only when its series, size or theme changed
        (a repaint of the same plot, a view switch say, builds nothing)."""
        key = (self._drawing, self.size, self.app.theme)
        if self._drawn is None or self._drawn[0] != key:
            self._drawn = (key, super().render())
        return self._drawn[1]


def count_text(v: float) -> str:
    return str(int(round(v)))
