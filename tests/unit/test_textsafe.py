"""textsafe.printable on any text: nothing a terminal would act on survives, and the
result always encodes as UTF-8 (lone surrogates too are escaped)."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from dmabuf_top.textsafe import printable
from tests.support.fuzz import examples

BIDI = set("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def test_lone_surrogates_are_escaped():
    """Found by the loader fuzz tests: a name decoded with surrogateescape (\\udcb5)
    reached the terminal writer, which cannot encode it."""
    assert printable("a\udcb5b") == "a\\udcb5b"
    assert printable("\U0001f600 ok") == "\U0001f600 ok"  # a real character stays


@settings(max_examples=examples(2000))
@given(st.text(st.characters(exclude_categories=()), max_size=64))
def test_nothing_for_a_terminal_survives(text: str) -> None:
    out = printable(text)
    out.encode("utf-8")
    for ch in out:
        assert unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp") and ch not in BIDI
    assert printable(out) == out
