"""The process tree (t / F5, as in htop): holders under their parents with htop's glyphs,
the ancestors that hold nothing shown dimmed to connect them, siblings in the sort's
order, unknown parents as roots, ppid loops cut; Pilot: the keys toggle it; + - * fold and
unfold branches as in htop (outside the tree + - stay the refresh interval)."""

from __future__ import annotations

import pytest

from dmabuf_top.model import Process
from dmabuf_top.report.live_columns import COLUMNS, column
from dmabuf_top.report.live_rows import History, prepare
from dmabuf_top.report.row_order import visible_rows
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.keys import help_sections
from dmabuf_top.tui.process_tree import ANCESTOR, build_tree, fold_all, fold_branch, tree_rows
from dmabuf_top.tui.screens.main import MainScreen
from dmabuf_top.tui.screens.sort_menu import SortMenu
from tests.support.pilot import SIZE, ScriptedBackend, settle, small_snapshot
from tests.support.table_readers import cell_of, mark_of

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
    from dmabuf_top.report.row_order import RowFilter

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
        assert cell_of(table, "412", "comm") == "   │  └─ [red]hog"
        assert mark_of(table, "100") == ANCESTOR and mark_of(table, "301") == ""
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
        assert cell_of(table, "500", "comm") == "   ├─ camera"
        assert cell_of(table, "301", "comm") == "   └─ compositor"
        assert cell_of(table, "412", "comm") == "      └─ [red]hog"


# -- folding (+ - * as in htop) ---------------------------------------------------------
def test_a_folded_branch_hides_its_children_and_says_so():
    snap = family()
    tree = build_tree(rows_of(snap), snap, folded={301})
    assert picture(tree.rows) == [
        ("1", "init", ANCESTOR),
        ("100", "└─ session", ANCESTOR),
        ("301", "   ├+ compositor", ""),  # [red]hog folded away under it
        ("500", "   └─ camera", ""),
    ]
    assert picture(tree_rows(rows_of(snap), snap, folded={1})) == [("1", "+ init", ANCESTOR)]
    # a leaf "folded" has nothing to hide: drawn as ever
    assert tree_rows(rows_of(snap), snap, folded={500}) == tree_rows(rows_of(snap), snap)


def test_fold_branch_folds_the_node_or_else_its_parent():
    snap = family()
    tree = build_tree(rows_of(snap), snap)
    folded: set[int] = set()
    assert fold_branch(tree, folded, 412, True) == 301 and folded == {301}  # a leaf: its parent
    assert fold_branch(tree, folded, 301, True) == 100 and folded == {301, 100}  # folded: up
    assert fold_branch(tree, folded, 100, False) == 100 and folded == {301}
    assert fold_branch(tree, folded, 1, True) == 1 and folded == {301, 1}
    assert fold_branch(tree, set(), 1, True) == 1  # a root without children stays put
    assert fold_all(tree, set()) == {1, 100, 301} and fold_all(tree, {301}) == set()


def tree_app() -> DmabufTopApp:
    return DmabufTopApp(ScriptedBackend([family()]), delay=3600)


async def press(pilot, *keys: str) -> None:
    """Press ``keys``, then wait for the screen."""
    await pilot.press(*keys)
    await settle(pilot)


async def in_the_tree(pilot, cursor: str):
    """The tree shown, the cursor on ``cursor``: its table."""
    await settle(pilot)
    await press(pilot, "t")
    table = pilot.app.screen.table()
    table.move_cursor(table.keys().index(cursor))
    return table


async def test_minus_and_plus_fold_and_unfold_the_branch_under_the_cursor():
    app = tree_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await in_the_tree(pilot, "301")
        await press(pilot, "minus")
        assert table.keys() == ["1", "100", "301", "500"]
        assert cell_of(table, "301", "comm") == "   ├+ compositor"
        assert table.cursor_key == "301" and app.delay == 3600  # not the interval
        await press(pilot, "plus")
        assert table.keys() == ["1", "100", "301", "412", "500"]
        assert cell_of(table, "301", "comm") == "   ├─ compositor"
        # on a leaf, - folds its parent and the cursor goes there
        table.move_cursor(table.keys().index("412"))
        await press(pilot, "minus")
        assert table.keys() == ["1", "100", "301", "500"] and table.cursor_key == "301"
        assert app.delay == 3600


async def test_star_folds_and_unfolds_everything_in_the_tree_else_opens_sort_by():
    app = tree_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await in_the_tree(pilot, "412")
        await press(pilot, "asterisk")
        assert table.keys() == ["1"] and table.cursor_key == "1"
        assert cell_of(table, "1", "comm") == "+ init"
        await press(pilot, "asterisk")
        assert table.keys() == ["1", "100", "301", "412", "500"]
        await press(pilot, "t", "asterisk")  # the sorted list: * is sort by, as in htop
        assert isinstance(app.screen, SortMenu)


async def test_outside_the_tree_plus_and_minus_change_the_interval():
    app = DmabufTopApp(ScriptedBackend([family()]), delay=2.0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "2", "plus")  # the Processes view as a list
        assert app.delay > 2.0
        await press(pilot, "minus")
        assert app.delay == 2.0
        await press(pilot, "t", "minus")  # in the tree: a fold, not the interval
        assert app.delay == 2.0


def test_help_lists_the_fold_keys():
    tables = dict(help_sections())["Tables"]
    what = {k: w for k, w in tables}
    fold = what["+ - *"]  # (the three on one line: help fits in two pages at 80x24)
    assert "unfold / fold a branch" in fold and "* every branch" in fold
