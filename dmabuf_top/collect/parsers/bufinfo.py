"""debugfs ``dma_buf/bufinfo`` in every format the kernel has printed.

- before 5.3: ``size flags mode count exp_name`` (no inode, no name);
- 5.3 to 5.18: ``... exp_name ino`` header, rows carry the name (empty when
  unset) as a seventh field;
- 5.19 and later: header has a ``name`` column, unnamed buffers say ``<none>``.

Fence lines come between a row and ``Attached Devices:``: before 5.19
``Exclusive fence: DRV TL signalled`` / ``Shared fence: ...``, from 5.19
``write fence:DRV TL seq N unsignalled``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dmabuf_top.collect.parsers.numbers import parse_int

_TOTAL_RE = re.compile(r"^Total (\d+) objects, (\d+) bytes")
_DEVICES_RE = re.compile(r"^Total (\d+) devices attached")


@dataclass
class BufinfoEntry:
    size: int
    flags: int | None
    mode: int | None
    count: int | None
    exporter: str
    inode: int | None
    name: str | None
    fences: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)


@dataclass
class Bufinfo:
    entries: list[BufinfoEntry] = field(default_factory=list)
    has_name_column: bool = False
    total_objects: int | None = None
    total_bytes: int | None = None


def _parse_row(line: str, has_name_column: bool) -> BufinfoEntry | None:
    parts = line.split("\t", 6)
    if len(parts) < 5:
        return None
    size = parse_int(parts[0])
    if size is None:
        return None
    inode = parse_int(parts[5]) if len(parts) > 5 else None
    name: str | None = parts[6] if len(parts) > 6 else None
    if name is not None:
        if has_name_column and name == "<none>":
            name = None
        elif name == "":
            name = None
    return BufinfoEntry(
        size=size,
        flags=parse_int(parts[1], 16),
        mode=parse_int(parts[2], 16),
        count=parse_int(parts[3]),
        exporter=parts[4],
        inode=inode,
        name=name,
    )


def parse_bufinfo(text: str) -> Bufinfo:
    """Parse the whole bufinfo file."""
    result = Bufinfo()
    cur: BufinfoEntry | None = None
    in_devices = False
    name_open = False  # a row's name may continue on the next lines (newline in name)
    for line in text.split("\n"):
        if line.startswith("size") and "exp_name" in line:
            result.has_name_column = "name" in [c.strip() for c in line.split("\t")]
            continue
        m = _TOTAL_RE.match(line)
        if m:
            result.total_objects = parse_int(m.group(1))
            result.total_bytes = parse_int(m.group(2))
            cur = None
            continue
        if _DEVICES_RE.match(line):
            cur, in_devices, name_open = None, False, False
            continue
        stripped = line.strip()
        if cur is not None and stripped == "Attached Devices:":
            in_devices, name_open = True, False
            continue
        if cur is not None and line.startswith("\t"):
            name_open = False
            if in_devices:
                cur.attachments.append(stripped)
            elif stripped:
                cur.fences.append(stripped)
            continue
        if cur is not None and name_open:
            cur.name = (cur.name or "") + "\n" + line
            continue
        if not line or line == "Dma-buf Objects:":
            continue
        entry = _parse_row(line, result.has_name_column)
        if entry is not None:
            result.entries.append(entry)
            cur, in_devices = entry, False
            name_open = entry.name is not None
    return result
