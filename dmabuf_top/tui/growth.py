"""Growth suspects in the TUI: the windows the ( ) keys step through, and the Buffers
view's filter that shows a suspect's buffers."""

from __future__ import annotations

import re

from dmabuf_top.analysis.suspects import DEFAULT_WINDOW, Suspect

#: windows that ( and ) step through (samples)
WINDOWS = (3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 45, 60, 90, 120)
__all__ = ["DEFAULT_WINDOW", "WINDOWS", "buffers_filter", "name_regex", "step_window"]


def step_window(window: int, direction: int) -> int:
    """The next window up (``direction`` > 0) or down the ladder."""
    if direction > 0:
        return next((w for w in WINDOWS if w > window), WINDOWS[-1])
    return next((w for w in reversed(WINDOWS) if w < window), WINDOWS[0])


def name_regex(pattern: str) -> str:
    """A regex matching whole buffer names of a name pattern (``leak-#``:
    every ``#`` a run of digits)."""
    return "^" + r"\d+".join(re.escape(part) for part in pattern.split("#")) + "$"


def buffers_filter(suspect: Suspect) -> str | None:
    """The Buffers view's filter that shows a suspect's buffers: an exporter's, or a
    name pattern's ("" for unnamed buffers); None for a process (it has a pane)."""
    if suspect.kind == "process":
        return None
    if suspect.kind == "exporter":
        return f"re:^{re.escape(str(suspect.key))}$"
    return "" if suspect.key is None else f"re:{name_regex(str(suspect.key))}"
