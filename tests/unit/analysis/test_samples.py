"""The samples growth suspects are computed over in a session (analysis/samples.py):
lean, bounded, and giving the suspects the snapshots give (the recording made in the
real-kernel VM, tests/support/vm/leak_recording.py); kept from what changed, equal to
what copies give (the history too)."""

from __future__ import annotations

import copy
from dataclasses import replace

from dmabuf_top.analysis import accounting
from dmabuf_top.analysis.history import History
from dmabuf_top.analysis.samples import LiveSamples
from dmabuf_top.analysis.suspects import find_suspects
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.report.suspects_report import suspects_to_dict
from tests.support.pilot import VM_RECORDING
from tests.unit.report.test_live_rows import churned

SNAPS = load_snapshots(VM_RECORDING)


def test_live_samples_are_lean_bounded_and_give_the_same_suspects():
    live = LiveSamples(budget=10 * len(SNAPS[-1].buffers))
    for s in SNAPS:
        live.add(s, keep_at_least=3)
    kept = live.snapshots()
    assert 3 <= len(kept) <= 10  # the buffer budget
    assert suspects_to_dict(find_suspects(kept, window=3)) == suspects_to_dict(
        find_suspects(SNAPS[-len(kept):], window=3))
    # a buffer unchanged since the previous sample is the same object
    a, b = kept[-2], kept[-1]
    same = [i for i in b.buffers if i in a.buffers
            and SNAPS[-1].buffers[i].pids == SNAPS[-2].buffers[i].pids
            and SNAPS[-1].buffers[i].size == SNAPS[-2].buffers[i].size]
    assert same and all(b.buffers[i] is a.buffers[i] for i in same)
    tight = LiveSamples(budget=1)
    for s in SNAPS:
        tight.add(s, keep_at_least=5)
    assert len(tight) == 5  # never fewer than the window
    bounded = LiveSamples(max_samples=4)
    for s in SNAPS:
        bounded.add(s)
    assert [s.taken_at for s in bounded.snapshots()] == [s.taken_at for s in SNAPS[-4:]]


def test_kept_samples_and_history_equal_those_of_copies_after_churn():
    """Snapshots as the Assembler gives them (an unchanged buffer the very object: only
    what changed is looked at) and deep copies of them (every buffer looked at): the
    lean samples, their suspects and the history are the same."""
    snaps = churned(seed=11, refreshes=14)
    for i in (4, 5, 6):  # refreshes where nothing changed at all
        snaps.insert(i, replace(snaps[i - 1], buffers=dict(snaps[i - 1].buffers)))
    kept, full = (LiveSamples(), History()), (LiveSamples(), History())
    for s in snaps:
        for (samples, history), snap in ((kept, s), (full, copy.deepcopy(s))):
            lean = samples.add(snap, keep_at_least=3)
            history.add(snap, accounting.totals(snap), accounting.process_stats(snap))
        assert lean == samples.snapshots()[-1]
        assert kept[0].snapshots() == full[0].snapshots()
        assert suspects_to_dict(find_suspects(kept[0].snapshots(), window=3)) == (
            suspects_to_dict(find_suspects(full[0].snapshots(), window=3)))
    inodes = {i for s in snaps for i in s.buffers}
    for i in inodes:
        assert kept[1].buffer_life(i) == full[1].buffer_life(i)
    for pid in {p for s in snaps for p in s.processes}:
        assert kept[1].rss_series(pid) == full[1].rss_series(pid)
    assert kept[1].totals_series() == full[1].totals_series()
