"""The Processes view as a tree (t / F5, as in htop): each holder under its parent, with
htop's glyphs (``├─``, ``└─``, ``│``) before the COMM; the ancestors that hold nothing
(``Snapshot.ancestors``), and holders the filter left out, are shown to connect them,
marked ``ancestor`` (dimmed). Siblings keep the order of the rows given (the sort).
A branch can be folded (``+`` / ``-`` / ``*`` as in htop): its children are left out
and its glyph says so (``├+``; ``+`` before a folded root)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from dmabuf_top.analysis.accounting import ProcessStats
from dmabuf_top.model import Process, Snapshot
from dmabuf_top.report.live_columns import COLUMNS
from dmabuf_top.report.live_rows import Row
from dmabuf_top.textsafe import printable

#: the mark of a row shown only to connect the tree (it holds nothing, or was filtered)
ANCESTOR = "ancestor"
_KEYS = [c.key for c in COLUMNS["processes"]]
_COMM = _KEYS.index("comm")


def _parent_of(pid: int, row: Row | None, snap: Snapshot) -> int | None:
    proc = snap.processes.get(pid) or snap.ancestors.get(pid)
    if proc is not None and proc.ppid is not None:
        return proc.ppid
    return getattr(row.obj, "ppid", None) if row is not None else None


def _connector(proc: Process) -> Row:
    cells = {"pid": str(proc.pid), "comm": printable(proc.comm), "cmdline": printable(proc.cmdline)}
    return Row(str(proc.pid), proc, tuple(cells.get(k, "") for k in _KEYS), (), ANCESTOR)


def holding_descendants(
    pid: int, procs: Sequence[ProcessStats], snap: Snapshot
) -> list[ProcessStats]:
    """The holders among ``procs`` whose chain of parents passes through ``pid`` (an
    ancestor's pane: what its descendants hold)."""
    out = []
    for p in procs:
        seen, up = {p.pid}, _parent_of(p.pid, None, snap)
        while up is not None and up not in seen and up != pid:
            seen.add(up)
            up = _parent_of(up, None, snap)
        if up == pid:
            out.append(p)
    return out


@dataclass(frozen=True)
class ProcessTree:
    """The tree as shown: its rows (folded branches left out) and its shape (every
    node's parent, folded or not)."""

    rows: list[Row]
    #: each node's parent (None: a root)
    parent: dict[int, int | None]
    #: each node's children (the roots under None)
    children: dict[int | None, list[int]]

    def has_children(self, pid: int) -> bool:
        return bool(self.children.get(pid))

    def branches(self) -> set[int]:
        """The nodes that have children (what folding everything folds)."""
        return {pid for pid, kids in self.children.items() if pid is not None and kids}


def fold_branch(tree: ProcessTree, folded: set[int], pid: int, fold: bool) -> int:
    """Fold (``fold``) or unfold the branch at ``pid`` in ``folded``; a node without
    children, or one already folded, folds its parent instead. Returns the node the
    cursor belongs on (the one folded)."""
    if not fold:
        folded.discard(pid)
        return pid
    if tree.has_children(pid) and pid not in folded:
        folded.add(pid)
        return pid
    parent = tree.parent.get(pid)
    if parent is None:
        return pid
    folded.add(parent)
    return parent


def fold_all(tree: ProcessTree, folded: Collection[int]) -> set[int]:
    """``*``: everything unfolded when something is folded, else every branch folded."""
    return set() if folded else tree.branches()


def tree_rows(rows: Sequence[Row], snap: Snapshot, folded: Collection[int] = ()) -> list[Row]:
    """The rows of :func:`build_tree`."""
    return build_tree(rows, snap, folded).rows


def build_tree(rows: Sequence[Row], snap: Snapshot, folded: Collection[int] = ()) -> ProcessTree:
    """``rows`` (the Processes view's, sorted and filtered) as a tree: parents first,
    children indented under them; a parent that is not among ``rows`` is a dimmed
    connector row (an ancestor that holds nothing, or a holder the filter left out).
    Unknown parents (``ppid`` None) make roots; a ppid loop is cut. The children of
    the pids in ``folded`` are left out."""
    by_pid: dict[int, Row] = {}
    for r in rows:
        by_pid.setdefault(int(r.key), r)
    rank = {pid: i for i, pid in enumerate(by_pid)}
    parent: dict[int, int | None] = {}
    nodes: dict[int, Row] = dict(by_pid)
    todo = list(by_pid)
    while todo:
        pid = todo.pop()
        if pid in parent:
            continue
        ppid = _parent_of(pid, nodes.get(pid), snap)
        parent[pid] = ppid
        if ppid is None or ppid == pid:
            parent[pid] = None
            continue
        if ppid not in nodes:
            proc = snap.ancestors.get(ppid) or snap.processes.get(ppid)
            if proc is None:  # the parent is not known: a root
                parent[pid] = None
                continue
            nodes[ppid] = _connector(proc)
        todo.append(ppid)
    # cut loops: follow each chain; a pid met twice on one walk loses its parent
    for start in list(parent):
        seen = {start}
        pid = parent[start]
        prev = start
        while pid is not None:
            if pid in seen:
                parent[prev] = None
                break
            seen.add(pid)
            prev, pid = pid, parent.get(pid)
    children: dict[int | None, list[int]] = {}
    for pid in nodes:
        children.setdefault(parent.get(pid), []).append(pid)
    # a subtree sorts where its best-placed row does (connectors carry no rank);
    # iterative, post-order: a deep chain (a hostile file) never hits the recursion limit
    best: dict[int, int] = {}
    stack: list[tuple[int, bool]] = [(pid, False) for pid in children.get(None, [])]
    while stack:
        pid, done = stack.pop()
        if done:
            kids = children.get(pid, [])
            best[pid] = min([rank.get(pid, len(rank))] + [best[k] for k in kids])
        elif pid not in best:
            stack.append((pid, True))
            stack += [(k, False) for k in children.get(pid, [])]

    def ordered(pids: list[int]) -> list[int]:
        return sorted(pids, key=lambda k: (best.get(k, len(rank)), k))

    out: list[Row] = []
    todo: list[tuple[int, str, bool, int]] = [
        (root, "", True, 0) for root in reversed(ordered(children.get(None, [])))
    ]
    while todo:
        pid, lead, last, depth = todo.pop()
        row = nodes[pid]
        kids = ordered(children.get(pid, []))
        shut = bool(kids) and pid in folded
        if depth or shut:
            glyph = ("└" if last else "├") + ("+ " if shut else "─ ") if depth else "+ "
            cells = list(row.cells)
            cells[_COMM] = lead + glyph + cells[_COMM]
            row = Row(row.key, row.obj, tuple(cells), row.search, row.mark, row.sig)
        out.append(row)
        if shut:
            continue
        below = "" if depth == 0 else lead + ("   " if last else "│  ")
        for i in reversed(range(len(kids))):
            todo.append((kids[i], below, i == len(kids) - 1, depth + 1))
    return ProcessTree(out, {pid: parent.get(pid) for pid in nodes}, children)
