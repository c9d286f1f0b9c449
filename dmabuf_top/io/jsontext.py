"""JSON text for machines: every document dmabuf-top prints as ``--format json``.

ASCII only (``ensure_ascii``): untrusted text (names, comm, cmdline) keeps every
character, and none of them, control characters included, reaches a terminal raw."""

from __future__ import annotations

import json
from typing import Any


def dump_json(obj: Any, compact: bool = False) -> str:
    """``obj`` as indented JSON text (``compact``: one line, for big documents) with a
    final newline; bytes stay integers."""
    if compact:
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":")) + "\n"
    return json.dumps(obj, indent=2, ensure_ascii=True) + "\n"
