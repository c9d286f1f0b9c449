"""The ``--once`` table for machines: one view as data (``--format json``, schema
``dmabuf-top-table/1``, the snapshot schema's field names, bytes as integers) or as
CSV (``--format csv``: the view's column keys as header, raw byte counts)."""

from __future__ import annotations

import csv
import io
from typing import Any

from dmabuf_top.analysis import accounting
from dmabuf_top.analysis.apps import unavailable
from dmabuf_top.io.codec import (
    app_to_dict,
    buffer_to_dict,
    exporter_to_dict,
    process_to_dict,
    source_to_dict,
    totals_to_dict,
)
from dmabuf_top.model import Snapshot
from dmabuf_top.report import columns
from dmabuf_top.textsafe import printable

TABLE_SCHEMA = "dmabuf-top-table/1"


def sorted_view(
    snap: Snapshot, view: str, sort: str | None = None, reverse: bool = False
) -> tuple[list[columns.Column], columns.Column, list[Any]]:
    """(columns, sort column, rows in the order ``--once`` prints them)."""
    cols = columns.view_columns(view)
    col = columns.column(view, sort or columns.DEFAULT_SORT[view])
    return cols, col, columns.sort_rows(columns.rows(snap, view), col, reverse)


def _row_dict(snap: Snapshot, view: str, row: Any, comm: dict[int, str]) -> dict[str, Any]:
    if view == "buffers":
        return buffer_to_dict(row.buf, comm)
    if view == "processes":
        return process_to_dict(row)
    if view == "apps":
        return app_to_dict(row)
    return {**exporter_to_dict(row.stats), "share": round(row.share, 3)}


def table_doc(
    snap: Snapshot, view: str = "buffers", sort: str | None = None, reverse: bool = False
) -> dict[str, Any]:
    """The ``--once --format json`` document: where and when, the totals, the rows."""
    _cols, col, rows = sorted_view(snap, view, sort, reverse)
    comm = {pid: p.comm for pid, p in snap.processes.items()}
    doc = {
        "schema": TABLE_SCHEMA,
        "taken_at": snap.taken_at,
        "source": source_to_dict(snap.source),
        "boot_id": snap.boot_id,
        "totals": totals_to_dict(accounting.totals(snap)),
        "warnings": list(snap.warnings),
        "view": view,
        "sort": col.key,
        "reverse": reverse,
        "rows": [_row_dict(snap, view, r, comm) for r in rows],
    }
    if view == "apps":  # why a kernel charge is null: column key -> reason
        doc["unavailable"] = unavailable(snap, rows)
    return doc


#: what makes a spreadsheet read a cell as a formula (OWASP's list for CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """An untrusted text cell: escaped as :func:`printable` does, and one that a
    spreadsheet would take for a formula prefixed with ``'`` (OWASP's rule)."""
    cell = printable(text)
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _csv_cell(col: columns.Column, row: Any) -> str | int:
    v = col.value(row)
    if v is None:
        return ""
    if col.kind == "percent":
        return f"{v:.1f}"
    if col.kind in ("bytes", "int"):
        return int(v)  # numbers stay numbers, -1 too
    return csv_text(str(v))


def render_csv(
    snap: Snapshot, view: str = "buffers", sort: str | None = None, reverse: bool = False
) -> str:
    """The ``--once --format csv`` table: a header of column keys, then one line per
    row in the printed order; sizes in bytes, untrusted text escaped."""
    cols, _col, rows = sorted_view(snap, view, sort, reverse)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([c.key for c in cols])
    for r in rows:
        w.writerow([_csv_cell(c, r) for c in cols])
    return out.getvalue()
