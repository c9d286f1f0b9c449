"""``/proc/PID/fdinfo/N`` of a dma-buf fd, and the fd link text."""

from __future__ import annotations

from dataclasses import dataclass

from dmabuf_top.collect.parsers.numbers import parse_int

DMABUF_LINK_PREFIX = "/dmabuf:"
OLD_DMABUF_LINK = "anon_inode:dmabuf"


@dataclass
class FdInfo:
    size: int | None = None
    count: int | None = None
    exporter: str | None = None
    name: str | None = None
    inode: int | None = None
    flags: int | None = None


#: statfs f_type of the dma-buf filesystem ("DMAB")
DMABUF_MAGIC = 0x444D4142


def is_dmabuf_link(link: str) -> bool:
    """True when ``readlink /proc/P/fd/N`` may be a dma-buf. Only a candidate: any
    file whose path starts with ``/dmabuf:`` reads the same; fdinfo's ``exp_name:``
    (or the filesystem magic) says whether the kernel made it a dma-buf."""
    return link.startswith(DMABUF_LINK_PREFIX) or link == OLD_DMABUF_LINK


def parse_fd_link(link: str) -> tuple[bool, str | None]:
    """Return (is_dmabuf, name). ``/dmabuf:`` with nothing after means unnamed."""
    if link.startswith(DMABUF_LINK_PREFIX):
        name = link[len(DMABUF_LINK_PREFIX):]
        return True, (name or None)
    if link == OLD_DMABUF_LINK:
        return True, None
    return False, None


def parse_fdinfo(text: str) -> FdInfo:
    """Parse fdinfo text of a dma-buf fd (any kernel from 5.3 on).

    ``name:`` is printed last by ``dma_buf_show_fdinfo``; a name may hold any
    byte but NUL (tabs, colons, newlines), so everything after ``name:\\t`` up
    to the final newline is the name.
    """
    info = FdInfo()
    pos = 0
    n = len(text)
    while pos < n:
        end = text.find("\n", pos)
        if end < 0:
            end = n
        line = text[pos:end]
        key, sep, value = line.partition(":")
        if sep:
            if key == "name":
                rest = text[pos + 5:]
                if rest.startswith("\t"):
                    rest = rest[1:]
                if rest.endswith("\n"):
                    rest = rest[:-1]
                info.name = rest or None
                break
            value = value.strip()
            if key == "size":
                info.size = parse_int(value)
            elif key == "count":
                info.count = parse_int(value)
            elif key == "exp_name":
                info.exporter = value
            elif key == "ino":
                info.inode = parse_int(value)
            elif key == "flags":
                info.flags = parse_int(value, 8)
        pos = end + 1
    return info
