"""A table's rows by key (tui/table/state.py's TableRows): a plan made off the UI thread
updates them as a full diff does."""

from __future__ import annotations

from dmabuf_top.report.live_columns import COLUMNS
from dmabuf_top.tui.session import Session
from tests.support.pilot import ScriptedBackend, steady_meter

T0, T1, T2 = "2026-11-21T10:00:00Z", "2026-11-21T10:00:02Z", "2026-11-21T10:01:30Z"


def churn(steps: int, n: int = 300) -> list:
    """``n`` buffers over ``steps`` samples: each step some change holders, some are
    freed, some appear (as the bench's refreshes do, smaller)."""
    import random

    from tests.support.synth import buf, snap

    rnd = random.Random(5)
    comms = {1000 + p: f"proc{p}" for p in range(40)}
    live = {10 + i: {1000 + i % 40: [3]} for i in range(n)}
    out, top = [], 10 + n
    for step in range(steps):
        if step:
            for inode in rnd.sample(sorted(live), n // 20):
                live[inode] = {1000 + rnd.randrange(40): [4], **live[inode]}
            for inode in rnd.sample(sorted(live), n // 50):
                del live[inode]
            for _ in range(n // 50):
                live[top], top = {1000 + rnd.randrange(40): [5]}, top + 1
        bufs = [buf(i, (i % 7 + 1) << 12, f"b{i}" if i % 3 else None, holders=h)
                for i, h in live.items()]
        out.append(snap(bufs, comms, t=2.0 * step))
    return out


def test_a_sync_plan_made_off_the_ui_thread_updates_a_table_as_a_full_diff_does():
    """TableRows fed the scan thread's SyncPlan ends each refresh exactly as one that
    diffs every row: the same keys, cells, marks, changes and stale lines."""
    from dmabuf_top.tui.table.state import TableRows

    session = Session(ScriptedBackend(churn(8)), meter=steady_meter())
    session.order.sort["buffers"] = ("size", False)  # (the one sort state)
    names = [c.key for c in COLUMNS["buffers"]]
    planned, full = TableRows(names), TableRows(names)
    used = 0
    for _ in range(8):
        prep = session.prepare()
        rows = prep.ordered["buffers"][1]
        plan = prep.plans["buffers"]
        if plan.base is not None:
            assert plan.base is planned.held  # from the very rows the table holds
            used += 1
        else:  # the first: every row's cells made off the UI thread
            assert plan.cells is not None and len(plan.cells) == len(rows)
        got = planned.update(rows, plan=plan)
        want = full.update(rows)
        assert sorted(got) == sorted(want)
        assert planned.keys == full.keys and planned.cells == full.cells
        assert planned.marks == full.marks and planned.last_sync == full.last_sync
        assert sorted(planned.changed_cells) == sorted(full.changed_cells)
        session.prepared = prep
    assert used == 7  # every refresh after the first
    assert full.last_sync[1:] != (0, 0)  # (rows did come and go)
