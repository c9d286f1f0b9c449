"""Bounded gzip inflating: one member at a time, a step at a time, never past a limit
(a small gzip can inflate to terabytes: memory stays at most the limit)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

#: bytes inflated per step
STEP = 1 << 20


class TooLarge(ValueError):
    """The text inflates past the limit (the inflating stopped there)."""


@dataclass
class Member:
    #: the member's text, or as much of it as the data held
    data: bytes
    #: whether the member ended (False: cut short)
    complete: bool
    #: the bytes after it (the next member's)
    rest: bytes


def inflate_member(data: bytes, limit: int) -> Member:
    """The first gzip member of ``data``; TooLarge when it holds more than
    ``limit`` bytes, zlib.error when it is not gzip."""
    d = zlib.decompressobj(wbits=31)
    chunks: list[bytes] = []
    size = 0
    tail = data
    while not d.eof:
        out = d.decompress(tail, STEP)
        tail = d.unconsumed_tail
        if not out and not tail:
            break  # the data ends inside the member
        size += len(out)
        if size > limit:
            raise TooLarge(f"inflates past {limit} bytes")
        chunks.append(out)
    return Member(b"".join(chunks), d.eof, d.unused_data if d.eof else b"")
