"""The tool's own cost: psutil's readings of this very process, the CPU share between
two readings, and the text the header and ``--once`` show."""

from __future__ import annotations

import time

from dmabuf_top.collect.selfstats import CostMeter, ToolCost
from dmabuf_top.report.summary import cost_text
from tests.support.pilot import small_snapshot


def test_meter_reads_this_process() -> None:
    # psutil's real readings of this process; the wall clock is the test's (one second
    # a reading), so the share does not hang on how busy the machine is
    ticks = iter(range(100))
    meter = CostMeter(clock=lambda: float(next(ticks)))
    t0 = time.process_time()
    while time.process_time() - t0 < 0.3:  # burn CPU: the reading must see it
        sum(range(1000))
    cost = meter.read()
    spent = time.process_time() - t0
    # psutil counts in clock ticks (1/100 s); the meter's own readings are inside
    assert 0.28 <= cost.cpu_seconds <= spent + 0.05 and cost.rss > 1 << 20
    assert cost.cpu_share == cost.cpu_seconds  # over one second
    idle = meter.read()  # nothing burnt since: the next reading's share is small
    assert idle.cpu_seconds < 0.05 and idle.cpu_share == idle.cpu_seconds


def test_meter_since_start_covers_the_process_life() -> None:
    cost = CostMeter.since_start().read()
    assert cost.cpu_seconds >= time.process_time() - 0.5 and 0 < cost.cpu_share


def test_cost_text() -> None:
    snap = small_snapshot()
    snap.scan_seconds, snap.collector_cpu_seconds = 0.254, 0.3
    cost = ToolCost(cpu_seconds=0.04, cpu_share=0.021, rss=85 << 20)
    assert cost_text(snap, cost) == "scan 0.25s  device cpu 0.30s  cpu 0.0s 2.1%  rss 85.0M"
    assert cost_text(snap, cost, raw_bytes=True).endswith(f"rss {85 << 20}")
    snap.scan_seconds = snap.collector_cpu_seconds = None
    assert cost_text(snap, None) == ""
