"""textsafe.printable on any text: nothing a terminal would act on survives (controls,
bidi, format and zero-width characters), ``\\`` is escaped so every escape is
unambiguous, and the result always encodes as UTF-8 (lone surrogates too are escaped)."""

from __future__ import annotations

import re
import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from dmabuf_top.textsafe import is_printable, printable, shown_line
from tests.support.fuzz import examples

BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ZERO_WIDTH = set("\u200b\u200c\u200d\u2060\ufeff")
_UNESCAPE = re.compile(r"\\(?:x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8})|(.))", re.S)
_NAMED = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r", "e": "\x1b"}


def unescape(shown: str) -> str:
    """What printable() was given, back from what it shows (so no two texts show alike)."""
    def one(m: re.Match[str]) -> str:
        code = m.group(1) or m.group(2) or m.group(3)
        return chr(int(code, 16)) if code else _NAMED[m.group(4)]
    return _UNESCAPE.sub(one, shown)


def test_lone_surrogates_are_escaped():
    """Found by the loader fuzz tests: a name decoded with surrogateescape (\\udcb5)
    reached the terminal writer, which cannot encode it."""
    assert printable("a\udcb5b") == "a\\udcb5b"
    assert printable("\U0001f600 ok") == "\U0001f600 ok"  # a real character stays


def test_a_backslash_is_escaped_so_a_literal_escape_reads_as_one():
    """Issue 21 item 11: the text ``\\e[31m`` (4 characters, no ESC) and an ESC
    itself must not be shown alike."""
    assert printable("\\e[31m") == "\\\\e[31m"
    assert printable("\x1b[31m") == "\\e[31m"
    assert printable("C:\\x") == "C:\\\\x"


def test_bidi_format_and_zero_width_characters_are_escaped():
    """Issue 21 item 11: U+061C and the zero-width characters were missed."""
    assert printable("evil\u202eexe.txt") == "evil\\u202eexe.txt"
    assert printable("a\u061cb\u200bc\u200dd\u2060e\ufefff") == (
        "a\\u061cb\\u200bc\\u200dd\\u2060e\\ufefff"
    )
    assert printable("tag\U000e0041") == "tag\\U000e0041"
    for ch in BIDI | ZERO_WIDTH:
        assert printable(ch).startswith("\\u"), hex(ord(ch))


def test_every_format_character_of_this_python_is_escaped():
    """FORMAT_CHARS is a list: this tells when a newer Unicode adds to category Cf."""
    missed = [
        f"U+{c:04X}" for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) == "Cf" and printable(chr(c)) == chr(c)
    ]
    assert not missed, f"add to textsafe.FORMAT_CHARS: {missed}"


@settings(max_examples=examples(2000))
@given(st.text(st.characters(exclude_categories=()), max_size=64))
def test_nothing_for_a_terminal_survives(text: str) -> None:
    out = printable(text)
    out.encode("utf-8")
    for ch in out:
        assert unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp", "Cf")
        assert ch not in BIDI | ZERO_WIDTH
    assert unescape(out) == text


def test_shown_line_escapes_only_what_is_not_escaped_yet():
    """The last guard on output: a message built from escaped parts stays as it is (its
    backslashes are not doubled again); one with a raw control is escaped whole."""
    part = printable("a\\b\x1b")
    built = f"device {part}: kill 1: failed"
    assert shown_line(built) == built
    assert shown_line("device \x1b[2Jx\u202e: gone") == "device \\e[2Jx\\u202e: gone"
    assert is_printable(shown_line("a\\b\x07\u200b"))
