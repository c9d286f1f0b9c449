"""What is kept refresh after refresh (analysis/accounting.py): GroupSums gives what
group_stats gives each snapshot (buffers freed, made, grown a holder, renamed), and
ProcessSums what process_stats and totals give, after random churn."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from dmabuf_top.analysis.accounting import (
    GroupSums,
    ProcessSums,
    group_stats,
    process_stats,
    totals,
)
from dmabuf_top.model import Buffer, GemHandle, Holder, MapRange, Process, Snapshot
from tests.support.fuzz import examples
from tests.unit.report.test_live_rows import churned


def test_group_sums_kept_refresh_after_refresh_equal_group_stats():
    sums = GroupSums()
    snaps = churned(seed=5, refreshes=15)
    snaps[9].buffers.clear()  # a snapshot with no buffer: every group goes
    for s in snaps:
        sums.update(s)
        fresh = copy.deepcopy(s)
        for by in ("exporter", "name"):
            assert sums.stats(by) == group_stats(fresh, by)
    assert sums.stats("name") and sums.stats("exporter")


# -- ProcessSums: process_stats and the byte totals, kept refresh after refresh -------

PIDS = [100, 101, 102, 103, 104, 105, 106]


def _holder(pid: int, how: int) -> Holder:
    """By fd, by mapping, both, or by GEM handle only (not one of dmabuf_dump's)."""
    if how == 3:
        return Holder(pid, handles=[GemHandle(7, pid)])
    return Holder(pid, fds=[10] if how != 1 else [],
                  maps=[MapRange(0, 4096)] if how else [])


def _buffer(inode: int, size: int, holders: list[tuple[int, int]]) -> Buffer:
    return Buffer(inode, size, "drm", f"b{inode % 5}",
                  holders=[_holder(pid, how) for pid, how in holders])


buffers_st = st.lists(
    st.tuples(st.integers(1, 3 * 10**9), st.lists(st.tuples(st.sampled_from(PIDS),
                                                              st.integers(0, 3)), max_size=4)),
    max_size=6,
)
change_st = st.tuples(
    st.sampled_from(["free", "make", "replace", "same-again", "comm", "reorder", "nothing"]),
    st.integers(0, 1 << 16), buffers_st,
)


@settings(max_examples=examples(150), deadline=None)
@given(buffers_st, st.lists(st.lists(change_st, max_size=5), min_size=1, max_size=8))
def test_process_sums_equal_a_full_recount_after_churn(first, refreshes) -> None:
    """Buffers freed, made, replaced (other holders, sizes that make Pss a float with a
    fraction, holders by GEM handle only, a pid holding one buffer twice), the same
    again as another object, a process renamed, the snapshot's order changed: each
    refresh, the kept sums give what process_stats() and totals() give from nothing."""
    nxt = 1000
    bufs: dict[int, Buffer] = {}
    for size, holders in first:
        bufs[nxt] = _buffer(nxt, size, holders)
        nxt += 1
    procs = {pid: Process(pid, f"p{pid}") for pid in PIDS}
    sums = ProcessSums()
    for step in [[], *refreshes]:
        bufs = dict(bufs)
        for what, n, made in step:
            inodes = list(bufs)
            if what == "free" and inodes:
                del bufs[inodes[n % len(inodes)]]
            elif what == "make":
                for size, holders in made:
                    bufs[nxt] = _buffer(nxt, size, holders)
                    nxt += 1
            elif what == "replace" and inodes and made:
                inode = inodes[n % len(inodes)]
                bufs[inode] = _buffer(inode, made[0][0], made[0][1])
            elif what == "same-again" and inodes:
                inode = inodes[n % len(inodes)]
                bufs[inode] = copy.deepcopy(bufs[inode])
            elif what == "comm":
                pid = PIDS[n % len(PIDS)]
                procs = {**procs, pid: Process(pid, f"renamed{n}")}
            elif what == "reorder":
                keys = sorted(bufs, key=lambda k: (k * (n | 1)) % 97)
                bufs = {k: bufs[k] for k in keys}
        s = Snapshot(taken_at="", buffers=bufs, processes=procs)
        kept = sums.update(s)
        full = process_stats(copy.deepcopy(s))
        assert kept == full
        assert totals(s, kept, sums) == totals(s, full)
        # Pss before rounding, bit for bit: summed in the snapshot's order
        assert {pid: sums._stats[pid][1][3] for pid in sums._stats} == _pss_sums(s)


def _pss_sums(s: Snapshot) -> dict[int, float]:
    """Each holder's Pss as a float, summed over the buffers in ``s``'s order (what
    process_stats rounds): sizes shared by the holders that are not by handle only."""
    out: dict[int, float] = {}
    for b in s.buffers.values():
        n = sum(1 for h in b.holders if not h.by_handle_only)
        for h in b.holders:
            out.setdefault(h.pid, 0.0)
            if not h.by_handle_only:
                out[h.pid] += b.size / n
    return out


def test_an_unchanged_snapshot_keeps_every_process_stats_object() -> None:
    """Nothing changed: no process is summed again (the very ProcessStats objects); a
    renamed process gets new stats with its sums as they were."""
    bufs = {i: _buffer(i, 3 * i + 1, [(100, 0), (101 + i % 3, i % 4)]) for i in range(50)}
    procs = {pid: Process(pid, f"p{pid}") for pid in PIDS}
    sums = ProcessSums()
    a = sums.update(Snapshot(taken_at="", buffers=bufs, processes=procs))
    b = sums.update(Snapshot(taken_at="", buffers=dict(bufs), processes=procs))
    assert all(x is y for x, y in zip(a, b, strict=True))
    renamed = {**procs, 101: Process(101, "renamed")}
    c = sums.update(Snapshot(taken_at="", buffers=dict(bufs), processes=renamed))
    assert [p.comm for p in c if p.pid == 101] == ["renamed"]
    assert all(x is y for x, y in zip(b, c, strict=True) if x.pid != 101)
    assert c == process_stats(Snapshot(taken_at="", buffers=bufs, processes=renamed))
