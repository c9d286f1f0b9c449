"""Numbers in kernel text: an int or None, never an exception (huge, signed, junk)."""

from __future__ import annotations

import re

#: the kernel prints unsigned 64-bit values at most (sizes, inodes, addresses, counts)
LIMIT = 1 << 64
_DIGITS = {
    8: re.compile(r"[0-7]{1,32}"),
    10: re.compile(r"[0-9]{1,32}"),
    16: re.compile(r"[0-9a-fA-F]{1,32}"),
}


def parse_int(text: str, base: int = 10) -> int | None:
    """``text`` (surrounding whitespace ignored) as the kernel prints a number: ASCII
    digits of ``base`` (8, 10 or 16) worth less than 2**64; else None (no sign, no
    ``0x``, no ``_``, no digits of other scripts, no number int() refuses)."""
    digits = text.strip()
    if base == 10:  # the common case, without a regular expression
        if not (0 < len(digits) <= 32 and digits.isascii() and digits.isdigit()):
            return None
    elif not _DIGITS[base].fullmatch(digits):
        return None
    value = int(digits, base)
    return value if value < LIMIT else None
