"""The process tree (t / F5, as in htop): holders under their parents with htop's glyphs,
the ancestors that hold nothing shown dimmed to connect them, siblings in the sort's
order, unknown parents as roots, ppid loops cut; Pilot: the keys toggle it."""

from __future__ import annotations

import pytest

from dmabuf_top.model import Process
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.process_tree import ANCESTOR, tree_rows
from dmabuf_top.tui.row_filter import visible_rows
from dmabuf_top.tui.rows import History, prepare
from dmabuf_top.tui.screens.main import MainScreen
from dmabuf_top.tui.view_columns import COLUMNS, column
from tests.support.pilot import SIZE, ScriptedBackend, settle, small_snapshot

COMM = [c.key for c in COLUMNS["processes"]].index("comm")


def family():
    """init(1) -> session(100) -> compositor(301) -> [red]hog(412); session -> camera(500)."""
    snap = small_snapshot()
    snap.processes[301].ppid = 100
    snap.processes[412].ppid = 301
    snap.processes[500].ppid = 100
    snap.ancestors = {
        100: Process(100, "session", ppid=1),
        1: Process(1, "init", ppid=0),
    }
    return snap


def rows_of(snap, sort="rss", rev=False, flt=None):
    prep = prepare(snap, History(), None)
    return visible_rows(prep.rows["processes"], column("processes", sort), rev, flt)


def picture(rows):
    return [(r.key, r.cells[COMM], r.mark) for r in rows]


def test_holders_hang_under_their_parents_with_htop_glyphs():
    assert picture(tree_rows(rows_of(family()), family())) == [
        ("1", "init", ANCESTOR),
        ("100", "└─ session", ANCESTOR),
        ("301", "   ├─ compositor", ""),  # 301's subtree holds the most (hog: 64M)
        ("412", "   │  └─ [red]hog", ""),
        ("500", "   └─ camera", ""),
    ]


def test_siblings_follow_the_sort():
    snap = family()
    rows = rows_of(snap, "pid", False)  # 301 < 412 < 500
    assert [k for k, _, _ in picture(tree_rows(rows, snap))] == ["1", "100", "301", "412", "500"]
    rows = rows_of(snap, "pid", True)  # 500 first
    assert [k for k, _, _ in picture(tree_rows(rows, snap))] == ["1", "100", "500", "301", "412"]


def test_unknown_parents_are_roots():
    snap = small_snapshot()  # no ppid known anywhere: a flat list, in the sort's order
    rows = rows_of(snap)
    assert picture(tree_rows(rows, snap)) == [(r.key, r.cells[COMM], "") for r in rows]


def test_a_holder_the_filter_left_out_connects_dimmed():
    from dmabuf_top.tui.row_filter import RowFilter

    snap = family()
    rows = rows_of(snap, flt=RowFilter("hog"))
    assert picture(tree_rows(rows, snap)) == [
        ("1", "init", ANCESTOR),
        ("100", "└─ session", ANCESTOR),
        ("301", "   └─ compositor", ANCESTOR),
        ("412", "      └─ [red]hog", ""),
    ]


def test_a_ppid_loop_is_cut_and_nothing_is_lost():
    snap = family()
    snap.ancestors[1].ppid = 412  # 412 -> 301 -> 100 -> 1 -> 412
    out = tree_rows(rows_of(snap), snap)
    assert sorted(r.key for r in out) == ["1", "100", "301", "412", "500"]


def test_a_deep_chain_does_not_recurse():
    snap = small_snapshot()
    snap.processes[301].ppid = 10_999
    snap.ancestors = {p: Process(p, f"p{p}", ppid=p - 1) for p in range(1000, 11_000)}
    out = tree_rows(rows_of(snap), snap)
    assert len(out) == 3 + 10_000
    at = [r.key for r in out].index("301")
    assert out[at - 1].key == "10999" and out[at].cells[COMM].endswith("└─ compositor")


@pytest.mark.parametrize("key", ["t", "f5"])
async def test_t_and_f5_toggle_the_tree(key):
    app = DmabufTopApp(ScriptedBackend([family()]), delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(key)  # from the Buffers view: to Processes, as a tree
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen) and screen.view == "processes" and screen.process_tree
        table = screen.table()
        assert table.keys() == ["1", "100", "301", "412", "500"]
        assert table.get_cell("412", "comm") == "   │  └─ [red]hog"
        assert table.mark_of("100") == ANCESTOR and table.mark_of("301") == ""
        await pilot.press(key)  # again: the sorted list
        await settle(pilot)
        assert not screen.process_tree and table.keys() == ["412", "301", "500"]


async def test_a_new_sort_in_the_tree_moves_the_glyphs_too():
    app = DmabufTopApp(ScriptedBackend([family()]), delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "t", "i")  # by pid: 301 before 500 under the session
        await settle(pilot)
        table = app.screen.table()
        assert table.keys() == ["1", "100", "301", "412", "500"]
        await pilot.press("i")  # reversed: 500 first, so 301 is now the last child
        await settle(pilot)
        assert table.keys() == ["1", "100", "500", "301", "412"]
        assert table.get_cell("500", "comm") == "   ├─ camera"
        assert table.get_cell("301", "comm") == "   └─ compositor"
        assert table.get_cell("412", "comm") == "      └─ [red]hog"
