"""Untrusted text (buffer names, comm, cmdline, anything a device or adb server
says) made safe to show: :func:`printable`.

Names are set by any process with DMA_BUF_SET_NAME; comm and cmdline by the
process itself. They may hold markup, escape bytes, tabs, newlines, bidi
overrides and invisible characters. We never interpret them: each such
character becomes a visible escape, ``\\`` itself is doubled (so a literal
``\\e[31m`` never reads as an escaped ESC), and the TUI wraps the result in
``rich.text.Text`` so markup is shown literally.
"""

from __future__ import annotations

import re

#: every format character (Unicode category Cf: bidi marks, embeddings, overrides and
#: isolates, U+061C, zero-width space/joiners, word joiner, BOM, invisible operators,
#: tags...), checked against ``unicodedata`` by tests/unit/test_textsafe.py
FORMAT_CHARS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
#: C0/C1 controls, line and paragraph separators, format characters, and lone
#: surrogates (invalid UTF-8 decoded with surrogateescape: no terminal can be sent one)
_UNSAFE = rf"\x00-\x1f\x7f-\x9f\u2028\u2029{FORMAT_CHARS}\ud800-\udfff"
_UNSAFE_RE = re.compile(f"[{_UNSAFE}]")
#: what printable() escapes: those and the backslash
_CONTROL = re.compile(rf"[\\{_UNSAFE}]")
_NAMED = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x1b": "\\e"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    named = _NAMED.get(ch)
    if named:
        return named
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str | None) -> str:
    """``text`` with every control, format (bidi, zero-width) character and ``\\``
    shown as an escape (``\\e``, ``\\t``, ``\\x07``, ``\\u202e``, ``\\\\``...):
    nothing in it can reach a terminal as a control or reorder what follows."""
    if not text:
        return ""
    return _CONTROL.sub(_escape, text)


def is_printable(text: str) -> bool:
    """Whether ``text`` holds nothing a terminal would act on (no control, format or
    bidi character, no lone surrogate): as :func:`printable` leaves its output."""
    return not _UNSAFE_RE.search(text)


def shown_line(text: str) -> str:
    """A message (error, warning, log line) as it may be shown: as it is when already
    printable (its untrusted parts were escaped where it was built; escaping again would
    double their backslashes), else escaped whole. The last guard on every output path
    (stderr, logs, notices): no raw control or bidi character gets through."""
    return text if is_printable(text) else printable(text)
