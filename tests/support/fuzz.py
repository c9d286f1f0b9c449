"""Hypothesis helpers for the fuzz tests: the example count a profile asks for, and
cheap strategies (one binary draw drives every mutation) for bytes and text that start
from real files (tests/data) and break them: bytes flipped, cut, deleted, repeated,
hostile pieces (broken UTF-8, huge numbers, YAML and collector syntax) put in."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st


def examples(n: int) -> int:
    """``n`` examples in the "ci" and "dev" profiles, ten times as many in "long"
    (tests/conftest.py: the profile's max_examples / 100 is the multiplier)."""
    return max(1, n * settings.default.max_examples // 100)


#: numbers a parser may choke on
NUMBERS: tuple[bytes, ...] = (
    b"9" * 4301,  # more digits than int() converts
    b"99999999999999999999999",
    b"-1",
    b"\xc2\xb2",  # superscript two: isdigit() but not int()
    b"1e999",
    b"0x10",
    b"",
)
#: byte strings worth putting in: broken UTF-8, escapes, numbers int() refuses,
#: YAML, JSON and collector syntax
NOISE: tuple[bytes, ...] = (
    b"\xff",
    b"\xc3",
    b"\xed\xb2\x80",  # an encoded surrogate
    b"\xe2\x80\xae",  # right-to-left override
    b"\x00",
    b"\x1b[2J",
    b"\t",
    b"\n",
    b": ",
    b" ",
    b"\n---\n",
    b"\n--- {",
    b"\nrecord:\n  seq: 1\n",
    b"\nend: 0\n",
    b"&a [*a, *a]",
    b"!!python/object/apply:os.system ['true']",
    b"!!binary AAAA",
    b"[" * 200,
    b'{"a":' * 100,
    b'"\\udcb5"',
    b"\\udcb5",
    b"\n@@",
    b"null",
    b"~",
    b"true",
    b"{}",
    b"[]",
    *NUMBERS,
)


_DIGITS = re.compile(rb"\d+")
_WORD = re.compile(rb"[^\s:]+")


def _replace_run(data: bytearray, pattern: re.Pattern[bytes], at: int, piece: bytes) -> None:
    m = pattern.search(data, at) or pattern.search(data)
    if m is not None:
        data[m.start() : m.end()] = piece


def mutate(seed: bytes, program: bytes, pieces: Sequence[bytes] = NOISE) -> bytes:
    """``seed`` changed by ``program``: each 4 bytes (op, position, position, value)
    are one mutation: flip, insert, delete or repeat bytes, cut the rest, put a
    piece in, or swap the number or the word found from there for a piece."""
    data = bytearray(seed)
    for i in range(0, len(program) - 3, 4):
        op, hi, lo, val = program[i : i + 4]
        at = ((hi << 8) | lo) * (len(data) + 1) // 65536
        piece = pieces[val % len(pieces)]
        op %= 8
        if op == 0 and at < len(data):
            data[at] = val
        elif op == 1:
            data[at:at] = bytes([val])
        elif op == 2:
            del data[at : at + val + 1]
        elif op == 3:
            data[at:at] = data[at : at + val + 1]
        elif op == 4 and val < 32:
            del data[at:]
        elif op == 5:
            _replace_run(data, _DIGITS, at, NUMBERS[val % len(NUMBERS)])
        elif op == 6:
            _replace_run(data, _WORD, at, piece)
        else:
            data[at:at] = piece
    return bytes(data)


def fuzzed_bytes(seeds: Sequence[bytes], max_ops: int = 24) -> st.SearchStrategy[bytes]:
    """Random bytes, or one of ``seeds`` mutated (:func:`mutate`)."""
    mutated = st.tuples(st.sampled_from(list(seeds)), st.binary(max_size=4 * max_ops)).map(
        lambda t: mutate(t[0], t[1])
    )
    return st.one_of(st.binary(max_size=2048), mutated, mutated, mutated)


def decode(data: bytes) -> str:
    """Bytes as a str the way a careless reader would: invalid UTF-8 becomes lone
    surrogates (the hostile corner of what a str can hold)."""
    return data.decode("utf-8", "surrogateescape")


def fuzzed_text(seeds: Sequence[str], max_ops: int = 24) -> st.SearchStrategy[str]:
    """Any text (lone surrogates too), or one of ``seeds`` mutated."""
    return fuzzed_bytes([s.encode("utf-8", "surrogateescape") for s in seeds], max_ops).map(
        decode
    )


def huge_number() -> st.SearchStrategy[str]:
    """Numbers as text int() may choke on: thousands of digits, signs, junk."""
    return st.one_of(
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.sampled_from(["9" * 4301, "-1", "+1", "1_000", "0x10", "", " 7 ", "1e9", "²", "٣"]),
    )


def gzip_bomb(path: Path, mib: int = 1024) -> Path:
    """A gzip member of ``mib`` MiB of zeros (about a thousandth of that on disk)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    with path.open("wb") as f:
        for _ in range(mib):
            f.write(c.compress(zeros))
        f.write(c.flush())
    return path
