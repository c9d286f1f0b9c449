"""What a session has seen over time (analysis/history.py): buffer lives, series, pruning."""

from __future__ import annotations

from dmabuf_top.analysis.history import History
from dmabuf_top.report.live_rows import prepare
from dmabuf_top.timefmt import parse_time
from tests.support.pilot import evolve, small_snapshot

T0, T1, T2 = "2026-11-21T10:00:00Z", "2026-11-21T10:00:02Z", "2026-11-21T10:01:30Z"


def test_history_buffer_life_and_recording_positions():
    h = History(prune=False)
    s0 = small_snapshot(T0)
    s1 = evolve(s0, T1, lambda s: s.buffers[12].holders.pop())
    s2 = evolve(s1, T2, lambda s: s.buffers.pop(12))
    for s in (s0, s1, s2):
        prepare(s, h, None)
    life = h.buffer_life(12)
    assert (life.first_seen, life.last_changed, life.gone_at) == (T0, T2, T2)
    assert life.holders == [2, 1, 0] and life.sizes == [8 << 20, 8 << 20, 0]
    at1 = h.buffer_life(12, at=1)  # as of sample 1 (a recording stepped back)
    assert (at1.last_changed, at1.gone_at, at1.holders) == (T1, None, [2, 1])
    assert h.totals() == [75 << 20] * 3 and h.totals(upto=1, last=1) == [75 << 20]
    assert h.buffer_life(404) is None


def test_history_rss_and_totals_series_with_times():
    """What the drill-down and header graphs draw: per sample, with its time."""
    h = History(prune=False)
    s0 = small_snapshot(T0)
    s1 = evolve(s0, T1, lambda s: s.buffers[13].holders.clear())  # 412 lets 64M go
    s2 = evolve(s1, T2, lambda s: [b.holders.clear() for b in s.buffers.values()])
    for s in (s0, s1, s2):
        prepare(s, h, None)
    times = [parse_time(t) for t in (T0, T1, T2)]
    rss = h.rss_series(412)
    assert rss.values == [72 << 20, 8 << 20, 0] and rss.times == times
    assert h.rss_series(412, at=1).values == [72 << 20, 8 << 20]
    assert h.rss_series(301).values == [8 << 20, 8 << 20, 0]
    assert h.rss_series(999).values == []
    assert h.totals_series().times == times
    assert h.totals_series(upto=1, last=1).values == [75 << 20]
    assert h.buffer_life(12).times == times


def test_live_history_forgets_freed_buffers():
    h = History(prune=True)
    s0 = small_snapshot(T0)
    s1 = evolve(s0, T1, lambda s: s.buffers.pop(14))
    for s in (s0, s1, s1, s1):
        prepare(s, h, None)
    assert h.buffer_life(14) is None and h.buffer_life(13) is not None
