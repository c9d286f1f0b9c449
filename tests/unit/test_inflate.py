"""Bounded inflating (dmabuf_top/inflate.py): a member's text up to the limit, never past it."""

from __future__ import annotations

import gzip
import zlib

import pytest

from dmabuf_top.inflate import STEP, TooLarge, inflate_member


def test_a_member_and_what_follows():
    data = gzip.compress(b"one") + gzip.compress(b"two")
    m = inflate_member(data, 3)
    assert (m.data, m.complete) == (b"one", True)
    assert inflate_member(m.rest, 3).data == b"two"


def test_past_the_limit_stops_there():
    bomb = gzip.compress(bytes(10 * STEP))  # ~10 KiB that inflates to 10 MiB
    with pytest.raises(TooLarge):
        inflate_member(bomb, 3 * STEP)
    assert len(inflate_member(bomb, 10 * STEP).data) == 10 * STEP


def test_a_member_cut_short_and_not_gzip():
    data = gzip.compress(b"x" * 1000)
    m = inflate_member(data[:-5], 10_000)
    assert not m.complete and m.rest == b""
    with pytest.raises(zlib.error):
        inflate_member(b"not gzip", 10)
