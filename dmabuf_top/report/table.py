"""The one plain-text table aligner (``--once``, ``diff``, ``suspects``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence


def align(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Collection[int] = (),
    indent: str = "",
) -> list[str]:
    """Header and rows as lines, columns two spaces apart: the columns in ``right``
    right-justified, the others left-justified (the last one not padded), trailing
    blanks removed."""
    widths = [len(h) for h in headers]
    for r in rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], len(cell))
    last = len(widths) - 1

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            if i in right:
                out.append(cell.rjust(widths[i]))
            else:
                out.append(cell if i == last else cell.ljust(widths[i]))
        return (indent + "  ".join(out)).rstrip()

    return [line(headers)] + [line(r) for r in rows]
