"""The TUI's pure parts left in tests/tui: times, intervals, export names, the header's cost."""

from __future__ import annotations

import pytest

from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.export import export_name, export_snapshot
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.timefmt import parse_time
from dmabuf_top.tui.refresher import INTERVALS, Refresher, step_interval
from dmabuf_top.tui.session import Session
from tests.support.pilot import ScriptedBackend, file_backend, small_snapshot, steady_meter

T0, T1, T2 = "2026-11-21T10:00:00Z", "2026-11-21T10:00:02Z", "2026-11-21T10:01:30Z"


def test_parse_time():
    assert parse_time(T0) == parse_time("2026-11-21T10:00:00+00:00")
    assert parse_time("2026-11-21T05:49:24.512Z") % 1 == pytest.approx(0.512)
    assert parse_time("") is None and parse_time("yesterday") is None


def test_step_interval():
    assert step_interval(2.0, 1) == 3.0 and step_interval(2.0, -1) == 1.0
    assert step_interval(2.5, 1) == 3.0 and step_interval(2.5, -1) == 2.0
    assert step_interval(INTERVALS[-1], 1) == INTERVALS[-1]
    assert step_interval(INTERVALS[0], -1) == INTERVALS[0]


def test_export_names_and_round_trip(tmp_path):
    snap = small_snapshot("2026-11-21T05:49:24.512Z")
    assert export_name(snap.taken_at) == "dmabuf-top-20261121T054924Z.yaml"
    assert export_name("2026-11-21T05:49:24Z", ".svg") == "dmabuf-top-20261121T054924Z.svg"
    p1 = export_snapshot(snap, tmp_path)
    p2 = export_snapshot(snap, tmp_path)
    assert p1.name == "dmabuf-top-20261121T054924Z.yaml"
    assert p2.name == "dmabuf-top-20261121T054924Z-2.yaml"
    back = load_snapshots(p1)[0]
    assert back.buffers[13].name == snap.buffers[13].name
    assert [b.inode for b in back.sorted_buffers()] == [12, 13, 14, 15]
    with pytest.raises(SnapshotError, match="not a directory"):
        export_snapshot(snap, tmp_path / "nope")


def test_header_shows_the_cost_of_live_sources_only() -> None:
    snap = small_snapshot()
    snap.scan_seconds, snap.collector_cpu_seconds = 0.12, 0.3
    live = Session(ScriptedBackend([snap]), meter=steady_meter())
    live.prepared = live.prepare()
    cost = Refresher(live).header_state().cost
    assert cost == "scan 0.12s  device cpu 0.30s  cpu 0.0s 0.0%  rss 48.0M"
    static = Session(file_backend(), meter=steady_meter())
    static.prepared = static.prepare()
    assert Refresher(static).header_state().cost == ""
