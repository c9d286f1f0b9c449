"""Grouping kept refresh after refresh (analysis/accounting.py's GroupSums): what
group_stats gives each snapshot, buffers freed, made, grown a holder, renamed."""

from __future__ import annotations

import copy

from dmabuf_top.analysis.accounting import GroupSums, group_stats
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
