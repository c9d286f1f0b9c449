"""Which columns a table shows at a width, and how wide: the widest column set that fits,
the last column taking what is left (like htop's Command), live-only columns left out
for a static source; a row's cells as one line of text, long text ending in ``…``; and
the row's painted line (its styles looked up once per theme or focus change)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from dmabuf_top.report.columns import Column
from dmabuf_top.report.live_columns import human_age

#: blanks on each side of a cell
PAD = 1
#: kinds shown left-aligned; every other kind is a number, right-aligned
TEXT_KINDS = frozenset({"text", "holders"})
ELLIPSIS = "…"


def text_width(text: str) -> int:
    """Terminal cells ``text`` takes (wide characters take two)."""
    return len(text) if text.isascii() else cell_len(text)


def clip(text: str, width: int, keep_from: str = "") -> str:
    """``text`` in at most ``width`` cells: cut with ``…`` when longer. ``keep_from``:
    what follows the last one of these characters stays whole, the text before it is
    cut (``compositor(301) +2`` becomes ``compo…(301) +2``)."""
    if text_width(text) <= width:
        return text
    if width <= 0:
        return ""
    at = text.rfind(keep_from) if keep_from else -1
    if at > 0:
        tail = text[at:]
        room = width - text_width(tail) - 1
        if room > 0:
            return _cut(text[:at], room) + ELLIPSIS + tail
    return _cut(text, width - 1) + ELLIPSIS


def _cut(text: str, width: int) -> str:
    if text.isascii():
        return text[:width]
    return set_cell_size(text, width).rstrip(" ") if width > 0 else ""


#: the tones a cell may be painted in (each a ``live-table--TONE`` style)
TONES = ("size-small", "size-medium", "size-large", "grow", "shrink")
#: the size units of human sizes (``512B``, ``8.0M``) and their tone
_UNIT_TONES = {"B": "size-small", "K": "size-small", "M": "size-medium"}
#: kinds whose sign is growth: painted with ↑ / ↓ in place of + / -
_SIGNED_KINDS = frozenset({"delta", "rate"})


def size_tone(text: str) -> str:
    """The tone of a size by its magnitude: under 1 MiB small, under 1 GiB medium,
    else large (``8.0M`` or a raw byte count)."""
    if not text or text == "-":
        return ""
    if text.isdigit():
        n = int(text)
        return "size-small" if n < 1 << 20 else "size-medium" if n < 1 << 30 else "size-large"
    return _UNIT_TONES.get(text[-1], "size-large")


def cell_tone(text: str, kind: str) -> tuple[str, str]:
    """What a cell is painted as: (text, tone). Sizes take the tone of their
    magnitude; a growth (``+8.0M``) is ``↑8.0M`` in the grow tone, a fall ``↓`` in
    the shrink tone; a growth suspect's flag is in the grow tone."""
    if kind == "bytes":
        return text, size_tone(text)
    if kind in _SIGNED_KINDS and len(text) > 1 and text[0] in "+-" and text[1:] != "0.0":
        return ("↑" if text[0] == "+" else "↓") + text[1:], "grow" if text[0] == "+" else "shrink"
    if kind == "flag" and text:
        return text, "grow"
    return text, ""


def cell_shown(cell: str, kind: str, now: float | None = None) -> str:
    """What a cell shows: itself, or for an age cell (the time first seen, epoch
    seconds as text) the age at ``now``: the cell never changes as the row ages."""
    if kind != "age":
        return cell
    return human_age(None if not cell or now is None else now - float(cell))


@dataclass(frozen=True)
class Slot:
    """One column as shown: its index in the row's cells and its content width; the
    cell shown instead when this one's text is too long (``short``, an index), and
    what of a text to keep whole when it is cut."""

    index: int
    column: Column
    width: int
    short: int | None = None
    keep_from: str = ""
    keep_short: str = ""

    @property
    def right(self) -> bool:
        return self.column.kind not in TEXT_KINDS


@dataclass(frozen=True)
class Layout:
    """The columns shown, left to right, and their widths."""

    slots: tuple[Slot, ...]

    @cached_property
    def width(self) -> int:
        return sum(s.width + 2 * PAD for s in self.slots)

    @property
    def keys(self) -> list[str]:
        return [s.column.key for s in self.slots]

    def has_kind(self, kind: str) -> bool:
        return any(s.column.kind == kind for s in self.slots)

    @cached_property
    def age_at(self) -> int | None:
        """Where the age column is among the slots (None: not shown)."""
        return next((i for i, s in enumerate(self.slots) if s.column.kind == "age"), None)

    def line(self, cells: Sequence[str], now: float | None = None) -> str:
        """The row as one line of text, every cell fitted to its width; an age cell
        (the time first seen) shows the age at ``now``."""
        return "".join(text for text, _ in self.pieces(cells, now))

    def pieces(
        self, cells: Sequence[str], now: float | None = None, lo: int = 0, hi: int | None = None
    ) -> list[tuple[str, str]]:
        """The row as (text, tone) pieces (:func:`cell_tone`; untoned text is joined), of
        the slots ``lo`` to ``hi`` (default: all)."""
        out: list[tuple[str, str]] = []
        plain = ""
        pad = " " * PAD
        for s in self.slots[lo:hi]:
            text = cell_shown(cells[s.index], s.column.kind, now)
            keep = s.keep_from
            if s.short is not None and text_width(text) > s.width:
                text, keep = cells[s.short], s.keep_short
            text, tone = cell_tone(clip(text, s.width, keep), s.column.kind)
            gap = " " * (s.width - text_width(text))
            before, after = (pad + gap, pad) if s.right else (pad, gap + pad)
            if not tone:
                plain += before + text + after
                continue
            out += [(plain + before, ""), (text, tone)]
            plain = after
        if plain:
            out.append((plain, ""))
        return out

    def slot_at(self, x: int) -> Slot | None:
        """The column under ``x`` (cells from the table's left edge)."""
        left = 0
        for s in self.slots:
            left += s.width + 2 * PAD
            if x < left:
                return s
        return None

    def x_of(self, key: str) -> int | None:
        """Where the column ``key`` starts, or None when it is not shown."""
        left = 0
        for s in self.slots:
            if s.column.key == key:
                return left
            left += s.width + 2 * PAD
        return None


def title_label(title: str, letter: str, arrow: str = "") -> tuple[str, int]:
    """A column's title with its sort key, and where its underlined letter is (-1:
    none): the letter underlined when the title holds it (SIZE: s), else written
    before it (``n:COMM``, ``P:PSS``: capital keys are always written out)."""
    at = title.lower().find(letter) if letter.islower() else -1
    if at >= 0:
        return title + arrow, at
    return f"{letter + ':' if letter else ''}{title}{arrow}", -1


def header_segments(
    layout: Layout, titles: Sequence[tuple[str, int]], style: Style
) -> list[Segment]:
    """The header line: each (title, underlined letter) fitted to its column."""
    under = style + Style(underline=True)
    pad = Segment(" " * PAD, style)
    out: list[Segment] = []
    for s, (title, at) in zip(layout.slots, titles, strict=True):
        title = clip(title, s.width)
        gap = Segment(" " * (s.width - text_width(title)), style)
        out.append(pad)
        if s.right:
            out.append(gap)
        if 0 <= at < len(title):
            out += [Segment(title[:at], style), Segment(title[at], under),
                    Segment(title[at + 1 :], style)]
        else:
            out.append(Segment(title, style))
        if not s.right:
            out.append(gap)
        out.append(pad)
    return out


def parse_set(spec: str) -> list[tuple[str, int | None]]:
    """``"inode exporter:10 holders:30"`` -> [("inode", None), ("exporter", 10), ...]."""
    out: list[tuple[str, int | None]] = []
    for item in spec.split():
        key, _, width = item.partition(":")
        out.append((key, int(width) if width else None))
    return out


def choose(
    columns: Sequence[Column],
    sets: Sequence[str],
    width: int,
    hidden: Collection[str] = (),
    least: dict[str, int] | None = None,
) -> tuple[Layout, int]:
    """The layout for ``width`` cells and the width it needs at least: the first set
    (widest first) whose columns fit with the last one at its least width, else the
    last set (the table then scrolls sideways). Columns in ``hidden`` are left out.
    A width in a set overrides the column's own, but not below ``least`` (a column's
    title); the last column takes the rest."""
    by_key = {c.key: i for i, c in enumerate(columns)}
    least = least or {}
    best: tuple[Layout, int] | None = None
    for spec in sets:
        items = [(k, w) for k, w in parse_set(spec) if k not in hidden]
        if not items:
            continue
        slots = []
        for k, w in items:
            col = columns[by_key[k]]
            short = by_key.get(getattr(col, "short", ""))
            slots.append(Slot(
                by_key[k], col, max(w or col.width, least.get(k, 0)), short,
                getattr(col, "keep_from", ""),
                getattr(columns[short], "keep_from", "") if short is not None else "",
            ))
        need = sum(s.width + 2 * PAD for s in slots)
        last = slots[-1]
        slots[-1] = replace(last, width=last.width + max(0, width - need))
        best = (Layout(tuple(slots)), need)
        if need <= width:
            return best
    if best is None:
        raise ValueError("no column to show")
    return best


def all_columns(columns: Sequence[Column]) -> list[str]:
    """The one set of a table that shows every column, in order."""
    return [" ".join(c.key for c in columns)]


# -- painting a row -----------------------------------------------------------------
#: the marks a row may have (each a ``live-table--MARK`` style)
MARKS = ("new", "freed", "ancestor")


@dataclass(frozen=True)
class RowStyles:
    """What rows are painted in: the table's style, a marked row's, the cursor's
    (over a row's) and each tone's (over a cell's)."""

    base: Style
    marks: dict[str, Style]
    cursor: Style
    tones: dict[str, Style]


def row_styles(base: Style, part: Callable[..., Style]) -> RowStyles:
    """The styles from the table's own (``base``) and its component styles (``part``:
    the widget's get_component_rich_style)."""
    return RowStyles(
        base=base,
        marks={m: part(f"live-table--{m}") for m in MARKS},
        cursor=part("live-table--cursor", partial=True),
        tones={t: part(f"live-table--{t}", partial=True) for t in TONES},
    )


def row_strip(
    layout: Layout, cells: Sequence[str], now: float | None, styles: RowStyles,
    mark: str | None = None, cursor: bool = False,
) -> Strip:
    """One row's line: its cells fitted to ``layout`` (ages at ``now``), toned, in its
    mark's style; the cursor's row and a freed one in a single style."""
    style = styles.marks[mark] if mark else styles.base
    if cursor or mark == "freed":  # one style: the cursor's, or struck out
        if cursor:
            style = style + styles.cursor
        return Strip([Segment(layout.line(cells, now), style)], layout.width)
    tones = styles.tones
    return Strip([
        Segment(text, style + tones[t] if t else style) for text, t in layout.pieces(cells, now)
    ], layout.width)


#: a row's line around its age cell: the segments before it and after it (an age moves
#: on at every refresh, the rest of a row only when its cells change)
AroundAge = tuple[list[Segment], list[Segment]]


def around_age(
    layout: Layout, at: int, cells: Sequence[str], styles: RowStyles, mark: str | None = None
) -> AroundAge:
    """The segments of a row's line before and after its age cell (slot ``at``)."""
    style = styles.marks[mark] if mark else styles.base
    tones = styles.tones

    def segments(lo: int, hi: int | None) -> list[Segment]:
        return [Segment(text, style + tones[t] if t else style)
                for text, t in layout.pieces(cells, None, lo, hi)]

    return segments(0, at), segments(at + 1, None)


def age_strip(
    layout: Layout, at: int, cells: Sequence[str], now: float | None, styles: RowStyles,
    around: AroundAge, mark: str | None = None,
) -> Strip:
    """The row's line from its segments ``around`` the age cell and the age at ``now``."""
    style = styles.marks[mark] if mark else styles.base
    age = [Segment(text, style) for text, _ in layout.pieces(cells, now, at, at + 1)]
    return Strip([*around[0], *age, *around[1]], layout.width)
