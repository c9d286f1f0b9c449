"""The samples growth suspects are computed over in a session (analysis/samples.py):
lean, bounded, and giving the suspects the snapshots give (the recording made in the
real-kernel VM, tests/support/vm/leak_recording.py)."""

from __future__ import annotations

from dmabuf_top.analysis.samples import LiveSamples
from dmabuf_top.analysis.suspects import find_suspects
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.report.suspects_report import suspects_to_dict
from tests.support.pilot import VM_RECORDING

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
