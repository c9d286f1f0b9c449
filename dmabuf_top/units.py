"""Sizes as people read them, as top/htop print them (binary units), or raw bytes."""

from __future__ import annotations

_UNITS = ("K", "M", "G", "T", "P")


def human_bytes(n: int | float | None) -> str:
    """``512B``, ``64.0K``, ``8.0M``, ``1.2G``; ``-`` for None."""
    if n is None:
        return "-"
    sign = "-" if n < 0 else ""
    v = float(abs(n))
    if v < 1024:
        return f"{sign}{int(v)}B"
    for unit in _UNITS:
        v /= 1024.0
        if v < 1024 or unit == _UNITS[-1]:
            return f"{sign}{v:.1f}{unit}"
    raise AssertionError("unreachable")


def human_delta(n: int) -> str:
    """A signed change: ``+8.0M``, ``-64.0K``, ``0``."""
    if n == 0:
        return "0"
    return ("+" if n > 0 else "") + human_bytes(n)


def size_text(n: int, raw_bytes: bool = False) -> str:
    """A size: the byte count with ``raw_bytes`` (``--bytes``), else human."""
    return str(n) if raw_bytes else human_bytes(n)


def delta_text(n: int, raw_bytes: bool = False, is_bytes: bool = True) -> str:
    """A signed change of bytes (human unless ``raw_bytes``) or of a count."""
    if raw_bytes or not is_bytes:
        return f"{n:+d}" if n else "0"
    return human_delta(n)
