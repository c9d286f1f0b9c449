"""Snapshot times: ISO-8601 UTC text (``2026-11-21T10:00:00Z``) made and read."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def utc_now() -> str:
    """Now, to the second: the ``taken_at`` of a scan."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> float | None:
    """Seconds since the epoch of an ISO-8601 time (``...Z`` or with fractions)."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def refine_time(taken_at: str, wall: float) -> str:
    """``taken_at`` with millisecond precision when a backend stamped the same
    second as the wall-clock time ``wall`` (rates over short intervals need it);
    any other stamp is returned unchanged."""
    dt = datetime.fromtimestamp(wall, timezone.utc)
    sec = dt.replace(microsecond=0)
    coarse = {(sec + timedelta(seconds=k)).strftime("%Y-%m-%dT%H:%M:%SZ") for k in (0, 1)}
    if taken_at in coarse:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return taken_at
