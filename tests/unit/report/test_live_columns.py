"""The live views' columns (report/live_columns.py): ages."""

from __future__ import annotations

import pytest

from dmabuf_top.report.live_columns import human_age

T0, T1, T2 = "2026-11-21T10:00:00Z", "2026-11-21T10:00:02Z", "2026-11-21T10:01:30Z"


@pytest.mark.parametrize(
    "secs,text",
    [(None, "-"), (-3, "0s"), (0, "0s"), (59.9, "59s"), (60, "1m00s"), (3599, "59m59s"),
     (3600, "1h00m"), (86399, "23h59m"), (90000, "1d01h")],
)
def test_human_age(secs, text):
    assert human_age(secs) == text
