"""The order of the live views' rows (report/row_order.py): the filter, visible rows sorted
as the tuple-key sort, and the one sort and filter state: defaults, a second sort on the
same column reverses, the arrow follows the column's own direction, the order key holds
the filter's text (what Prepared.ordered is matched against)."""

from __future__ import annotations

import re

import pytest

from dmabuf_top.analysis.history import History
from dmabuf_top.report.live_columns import COLUMNS, DEFAULT_SORT, VIEW_NAMES, column
from dmabuf_top.report.live_rows import prepare
from dmabuf_top.report.row_order import FilterError, RowFilter, ViewOrder, visible_rows
from tests.support.pilot import file_backend, small_snapshot

T0, T1, T2 = "2026-11-21T10:00:00Z", "2026-11-21T10:00:02Z", "2026-11-21T10:01:30Z"


def test_view_order_sorts_reverses_and_keys():
    order = ViewOrder({"processes": ("pid", True)})
    assert order.sort == {**{v: (DEFAULT_SORT[v], False) for v in VIEW_NAMES},
                          "processes": ("pid", True)}
    assert order.arrow("buffers") == ("size", True)  # SIZE: largest first, ▼
    order.sort_by("buffers", "size")
    assert order.sort["buffers"] == ("size", True) and order.arrow("buffers") == ("size", False)
    order.sort_by("buffers", "inode")  # another column: its own direction, not reversed
    assert order.sort["buffers"] == ("inode", False) and order.arrow("buffers") == ("inode", False)
    assert order.key("buffers") == ("inode", False, "")
    order.row_filter = RowFilter("re:drm")
    col, rev, flt = order.of("buffers")
    assert (col.key, rev, flt) == ("inode", False, order.row_filter)
    assert order.key("exporters") == ("bytes", False, "re:drm")  # one filter, every view


def test_filters():
    p = prepare(small_snapshot(T0), History(), None)
    rows = p.rows["buffers"]
    size = column("buffers", "size")

    def keys(flt):
        return [r.key for r in visible_rows(rows, size, False, flt)]

    assert keys(None) == ["13", "12", "14", "15"]
    assert keys(RowFilter("SCANOUT")) == ["12"]  # case-insensitive substring
    assert keys(RowFilter("compositor(301)")) == ["12"]  # holders are searched
    assert keys(RowFilter("1")) == ["13", "12", "14", "15"]  # inode digits
    assert keys(RowFilter("re:^1[45]$")) == ["14", "15"]
    assert keys(RowFilter("re:")) == ["13", "12", "14", "15"]  # empty regex: no filter
    assert keys(RowFilter("[/x]")) == ["13"]  # markup is just text
    row12 = next(r for r in rows if r.key == "12")
    fields = row12.search
    assert len(fields) > 1 and all(keys(RowFilter(f)) for f in fields if f)
    across = fields[0][-1:] + fields[1][:1]  # the end of one field and the start of the next
    assert not any(across in f for r in rows for f in r.search)
    assert keys(RowFilter(across)) == []  # a match never spans two fields
    assert keys(RowFilter("re:" + re.escape(across))) == []
    with pytest.raises(FilterError, match="bad regular expression"):
        RowFilter("re:(")
    assert [r.key for r in visible_rows(rows, size, True, None)] == ["15", "14", "12", "13"]


@pytest.mark.parametrize("snap", [small_snapshot, lambda: file_backend().collect()])
def test_every_column_of_every_view_sorts_as_the_tuple_key_sort(snap):
    """visible_rows (bare values kept on the rows) orders every column as a plain sort on
    (is-there-a-value, value) keys does, both ways, ties in key order."""
    prep = prepare(snap(), History(), None)
    for view, cols in COLUMNS.items():
        rows = prep.rows[view]
        for col in cols:
            for rev in (False, True):
                desc = col.descending != rev
                want = sorted(
                    rows, reverse=desc,
                    key=lambda r, c=col: (0, 0) if c.value(r.obj) is None else (
                        1, str(c.value(r.obj)).lower() if c.kind == "text" else c.value(r.obj)
                    ),
                )
                got = visible_rows(rows, col, rev, None)
                assert [r.key for r in got] == [r.key for r in want], (view, col.key, rev)
                again = visible_rows(rows, col, rev, None)  # from the values kept on rows
                assert [r.key for r in again] == [r.key for r in want]
