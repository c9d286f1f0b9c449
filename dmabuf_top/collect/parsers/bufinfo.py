"""debugfs ``dma_buf/bufinfo`` in every format the kernel has printed, read by its
structure so that a buffer name cannot forge records.

- before 5.3: ``size flags mode count exp_name`` (no inode, no name);
- 5.3 to 5.18: ``... exp_name ino`` header, rows carry the name (empty when
  unset) as a seventh field;
- 5.19 and later: header has a ``name`` column, unnamed buffers say ``<none>``.

Each record is the kernel's ``%08zu\\t%08x\\t%08x\\t%08ld\\t%s\\t%08lu\\t%s`` row, fence
lines (before 5.19 ``Exclusive fence: DRV TL signalled`` / ``Shared fence: ...``, from
5.19 ``write fence:DRV TL seq N unsignalled``), ``\\tAttached Devices:``, K device
lines and ``Total K devices attached``; the file ends ``Total N objects, M bytes``.

A name (31 bytes, any byte but NUL) may hold newlines and tabs, so its lines can look
like rows, fences or devices. A record ends only at a ``Total K devices attached``
line whose K device lines and ``Attached Devices:`` line stand right before it (at
least 44 bytes: no name can forge it), and a row has zero-padded fields of 8 digits
or more (37 bytes at least), so every line between a row and its end is that
record's (its name's, or its fences). What is left over, a record cut short and a
footer the records do not add up to are said in ``warnings``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dmabuf_top.collect.parsers.numbers import parse_int

_TOTAL_RE = re.compile(r"^Total (\d+) objects, (\d+) bytes$")
_DEVICES_RE = re.compile(r"^Total (\d+) devices attached$")
#: the kernel's row: size, flags, mode, count, exporter[, inode[, name]]
_ROW_RE = re.compile(
    r"^(\d{8,})\t([0-9a-f]{8,})\t([0-9a-f]{8,})\t(\d{8,})\t([^\t]*)(?:\t(\d{8,})(?:\t(.*))?)?$"
)
_FENCE_RE = re.compile(r"^\t(?:(?:Exclusive|Shared) fence: |[a-z]+ fence:)")
#: a name's line made to look like a line of bufinfo (a row, fence, device or total)
_LOOKALIKE_RE = re.compile(r"^(?:[0-9]+\t|\t|Total |Dma-buf Objects:|size\b)")
_ATTACHED = "\tAttached Devices:"
_SKIPPED = ("", "Dma-buf Objects:")


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
    #: what did not fit the file's structure (one line each)
    warnings: list[str] = field(default_factory=list)


def _is_header(line: str) -> bool:
    return line.startswith("size") and "exp_name" in line


def _devices_at_end(lines: list[str]) -> int | None:
    """K when ``lines`` end a record (``\\tAttached Devices:``, K device lines,
    ``Total K devices attached``), else None."""
    m = _DEVICES_RE.match(lines[-1])
    if m is None or len(m.group(1)) > 6:
        return None
    k = int(m.group(1))
    if len(lines) < k + 3 or lines[-k - 2] != _ATTACHED:
        return None
    if not all(line.startswith("\t") for line in lines[-k - 1 : -1]):
        return None
    return k


def _entry(lines: Sequence[str], k: int, has_name_column: bool) -> BufinfoEntry | None:
    m = _ROW_RE.match(lines[0])
    assert m is not None
    size = parse_int(m.group(1))
    if size is None:
        return None
    middle = lines[1 : -k - 2]
    cut = len(middle)  # fences are the trailing lines that look like fences
    while cut and _FENCE_RE.match(middle[cut - 1]):
        cut -= 1
    name: str | None = m.group(7)
    if name is not None and cut:  # a name with newlines: its other lines
        name = "\n".join([name, *middle[:cut]])
    elif name == "" or (has_name_column and name == "<none>"):
        name = None
    inode = m.group(6)
    return BufinfoEntry(
        size=size,
        flags=parse_int(m.group(2), 16),
        mode=parse_int(m.group(3), 16),
        count=parse_int(m.group(4)),
        exporter=m.group(5),
        inode=parse_int(inode) if inode is not None else None,
        name=name,
        fences=[line.strip() for line in middle[cut:]],
        attachments=[line.strip() for line in lines[-k - 1 : -1]],
    )


#: a record's lines, its device count and whether the header has a name column
RecordKey = tuple[tuple[str, ...], int, bool]


def record_entry(key: RecordKey) -> BufinfoEntry | None:
    """The entry of one record (:data:`RecordKey`); None when its size is no number."""
    return _entry(*key)


def parse_bufinfo(
    text: str, entry_of: Callable[[RecordKey], BufinfoEntry | None] = record_entry
) -> Bufinfo:
    """Parse the whole bufinfo file (see the module's docstring). ``entry_of``: the
    entry of a record, or a memo of it (an unchanged record's entry is the same)."""
    result = Bufinfo()
    lines = text.split("\n")
    while lines and not lines[-1]:
        lines.pop()
    footer = _TOTAL_RE.match(lines[-1]) if lines else None
    if footer is not None:
        lines.pop()
        result.total_objects = parse_int(footer.group(1))
        result.total_bytes = parse_int(footer.group(2))
    record: list[str] | None = None
    stray = lookalike = 0
    for line in lines:
        if record is not None:
            record.append(line)
            k = _devices_at_end(record) if line.startswith("Total ") else None
            if k is not None:
                entry = entry_of((tuple(record), k, result.has_name_column))
                if entry is not None:
                    result.entries.append(entry)
                    lines_of_name = (entry.name or "").split("\n")[1:]
                    lookalike += any(map(_LOOKALIKE_RE.match, lines_of_name))
                record = None
        elif _ROW_RE.match(line):
            record = [line]
        elif _is_header(line) and not result.entries:
            result.has_name_column = "name" in [c.strip() for c in line.split("\t")]
        elif line not in _SKIPPED:
            stray += 1
    _check(result, stray, lookalike, record is not None, footer is not None)
    return result


def _check(result: Bufinfo, stray: int, lookalike: int, cut: bool, footer: bool) -> None:
    """The warnings: names made to look like records, lines outside every record, a
    record cut short, a footer missing or not what the records add up to."""
    say = result.warnings.append
    if lookalike:
        say(f"debugfs bufinfo: {lookalike} buffer name{'s' if lookalike != 1 else ''} "
            "with lines made to look like bufinfo records (forged rows?): read as names")
    if stray:
        say(f"debugfs bufinfo: {stray} line{'s' if stray != 1 else ''} outside every "
            "buffer record left out")
    if cut:
        say("debugfs bufinfo: the last buffer record is cut short: left out")
    if not footer:
        if result.entries or stray:
            say("debugfs bufinfo: no 'Total N objects, M bytes' line: the file is cut short")
        return
    n, size = len(result.entries), sum(e.size for e in result.entries)
    if (n, size) != (result.total_objects, result.total_bytes):
        say(f"debugfs bufinfo: {n} records of {size} bytes, but its footer says "
            f"{result.total_objects} objects, {result.total_bytes} bytes")
