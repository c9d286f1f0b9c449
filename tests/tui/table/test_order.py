"""The one sort and filter state (tui/table/order.py): defaults, a second sort on the same
column reverses, the arrow follows the column's own direction, the order key holds the
filter's text (what Prepared.ordered is matched against)."""

from __future__ import annotations

from dmabuf_top.report.live_columns import DEFAULT_SORT, VIEW_NAMES
from dmabuf_top.report.row_order import RowFilter, ViewOrder


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
