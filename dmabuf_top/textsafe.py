"""Untrusted text (buffer names, comm, cmdline) made safe to show.

Names are set by any process with DMA_BUF_SET_NAME; comm and cmdline by the
process itself. They may hold markup, escape bytes, tabs and newlines. We never
interpret them: control characters become visible escapes, and the TUI wraps
the result in ``rich.text.Text`` so markup is shown literally.
"""

from __future__ import annotations

import re

#: C0/C1 controls, line and paragraph separators, bidi marks and overrides, and lone
#: surrogates (invalid UTF-8 decoded with surrogateescape: no terminal can be sent one)
_CONTROL = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\x1b": "\\e"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    named = _NAMED.get(ch)
    if named:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str | None) -> str:
    """``text`` with every control character shown as an escape (``\\e``,
    ``\\t``, ``\\x07``...): nothing in it can reach a terminal as a control."""
    if not text:
        return ""
    return _CONTROL.sub(_escape, text)
