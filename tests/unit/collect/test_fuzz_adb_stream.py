"""Property-based fuzzing of the adb stream decoder (collect/adb_stream.py): real
collector output recorded in the 6.1 VM (tests/data/adb/*.out), mutated and cut, plain
and gzip'ed, gives a RawScan that assemble() takes, or a one-line StreamError; nothing
else escapes."""

from __future__ import annotations

import gzip

from hypothesis import event, given, settings
from hypothesis import strategies as st

from dmabuf_top.collect.adb_stream import StreamError, parse_stream
from dmabuf_top.collect.assemble import assemble
from tests.support.fuzz import examples, fuzzed_bytes
from tests.support.paths import DATA

STREAMS = [p.read_bytes() for p in sorted((DATA / "adb").glob("*.out"))]
TAKEN_AT = "2026-11-21T10:00:00Z"


def decode_or_stream_error(data: bytes, compressed: bool | None = None) -> None:
    try:
        raw = parse_stream(data, TAKEN_AT, compressed=compressed)
    except StreamError as e:
        assert "\n" not in str(e) and str(e)
        event("StreamError: " + " ".join(str(e).split()[:3]))
        return
    event("decoded")
    assemble(raw)


@settings(max_examples=examples(2000))
@given(fuzzed_bytes(STREAMS, max_ops=16))
def test_plain_stream_decodes_or_says_why(data: bytes) -> None:
    decode_or_stream_error(data)


@settings(max_examples=examples(500))
@given(fuzzed_bytes(STREAMS, max_ops=8), st.integers(0, 1 << 16), st.booleans())
def test_gzip_stream_cut_or_damaged_decodes_or_says_why(
    data: bytes, cut: int, flip: bool
) -> None:
    packed = bytearray(gzip.compress(data, mtime=0))
    if flip and len(packed) > 20:
        packed[cut % len(packed)] ^= 0x55
    decode_or_stream_error(bytes(packed[: cut if cut < len(packed) else None]))


@settings(max_examples=examples(500))
@given(fuzzed_bytes([gzip.compress(s, mtime=0) for s in STREAMS], max_ops=4))
def test_gzip_bytes_mutated_decode_or_say_why(data: bytes) -> None:
    decode_or_stream_error(data, compressed=True)
