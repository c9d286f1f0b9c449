"""The main screen's process-tree keys (htop's): t / F5 the tree, + - fold a branch, *
every branch; a mixin of MainScreen (screens/main.py), whose state they change."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Tab

from dmabuf_top.report.live_columns import LAYOUTS, TREE_LAYOUTS, VIEW_TITLES
from dmabuf_top.tui.process_tree import fold_all, fold_branch


class TreeActions:
    """The tree's actions; MainScreen gives view, process_tree, folded, _tree, _stale,
    states, table(), sync(), action_view() and action_sort_menu()."""

    def action_tree(self) -> None:
        """t / F5: the Processes view as a tree (again: the sorted list); from another
        view, the Processes view as a tree."""
        self.process_tree = not self.process_tree if self.view == "processes" else True
        self._stale.add("processes")
        if self.view == "processes":
            self.sync()
        else:
            self.action_view("processes")
        self._show_tree_mode()

    def _show_tree_mode(self) -> None:
        sets = TREE_LAYOUTS if self.process_tree else LAYOUTS["processes"]
        if self.states["processes"].use_sets(sets):
            self._state_changed("processes")
        title = VIEW_TITLES["processes"] + (" (tree)" if self.process_tree else "")
        self.query_one("#tab-processes", Tab).label = Content(title)

    def action_fold(self, fold: bool) -> None:
        """- / +: fold / unfold the tree's branch under the cursor (htop's keys)."""
        key = self.table().cursor_key
        if self._tree is not None and key is not None:
            self._show_folded(fold_branch(self._tree, self.folded, int(key), fold))

    def action_fold_all(self) -> None:
        """*: fold or unfold every branch of the tree; outside it the sort-by menu
        (as in htop)."""
        if not self.in_tree():
            self.action_sort_menu()
        elif self._tree is not None:
            self.folded = fold_all(self._tree, self.folded)
            key = self.table().cursor_key
            self._show_folded(None if key is None else int(key))

    def _show_folded(self, pid: int | None) -> None:
        """The tree again; the cursor on ``pid``, or on its nearest shown ancestor."""
        self.sync()
        keys = self.table().keys()
        while pid is not None and str(pid) not in keys and self._tree is not None:
            pid = self._tree.parent.get(pid)
        if pid is not None:
            self.table().move_cursor(keys.index(str(pid)))

    def in_tree(self) -> bool:
        return self.view == "processes" and self.process_tree
