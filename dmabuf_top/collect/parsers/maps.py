"""dma-buf lines of ``/proc/PID/maps``."""

from __future__ import annotations

from dataclasses import dataclass

from dmabuf_top.collect.parsers.numbers import parse_int

DMABUF_PATH_PREFIX = "/dmabuf"


@dataclass
class MapsEntry:
    start: int
    end: int
    perms: str
    offset: int
    inode: int
    name: str | None
    #: (major, minor) of the mapped file's device: a dma-buf's is the dma-buf
    #: filesystem's; a regular file named ``/dmabuf:...`` has another
    dev: tuple[int, int] = (0, 0)


def parse_dev(text: str) -> tuple[int, int] | None:
    """``00:0a`` (maps' hex major:minor) -> (0, 10)."""
    major, sep, minor = text.partition(":")
    try:
        return (int(major, 16), int(minor, 16)) if sep else None
    except ValueError:
        return None


def _unescape(path: str) -> str:
    # seq_file_path() escapes only newlines, as \012
    return path.replace("\\012", "\n")


def parse_maps_line(line: str) -> MapsEntry | None:
    """Parse one maps line; None unless it maps a dma-buf."""
    parts = line.split(None, 5)
    if len(parts) < 6:
        return None
    path = parts[5]
    if path.endswith("\n"):
        path = path[:-1]
    if not path.startswith(DMABUF_PATH_PREFIX):
        return None
    if path != DMABUF_PATH_PREFIX and not path.startswith("/dmabuf:"):
        return None
    lo, _, hi = parts[0].partition("-")
    start, end = parse_int(lo, 16), parse_int(hi, 16)
    offset, inode = parse_int(parts[2], 16), parse_int(parts[4])
    if start is None or end is None or offset is None or inode is None or end < start:
        return None
    dev = parse_dev(parts[3])
    if dev is None:
        return None
    name = _unescape(path[8:]) if path.startswith("/dmabuf:") else ""
    return MapsEntry(start, end, parts[1], offset, inode, name or None, dev)
