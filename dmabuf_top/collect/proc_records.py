"""What assemble() builds its buffers from, per process: each dma-buf fd's record and
each ``/dmabuf`` maps line parsed, kept from one refresh to the next. A process whose
texts are all as they were gives the records it gave; one whose texts changed parses
again only its fdinfo texts and maps lines that are not the ones it had."""

from __future__ import annotations

from typing import Any

from dmabuf_top.collect.buffer_build import Record
from dmabuf_top.collect.identity import is_kernel_dmabuf_fd
from dmabuf_top.collect.parsers.fdinfo import FdInfo, parse_fd_link, parse_fdinfo
from dmabuf_top.collect.parsers.maps import MapsEntry, parse_maps_line
from dmabuf_top.collect.rawscan import ProcText

_MISS = object()


def fd_records(
    proc: ProcText, parse: Any = parse_fdinfo
) -> list[tuple[int, Record]]:
    """(inode, record) of each dma-buf fd of ``proc`` (buffer_build.Record); ``parse``:
    parse_fdinfo, or what gives the same FdInfo for a text."""
    out = []
    for fd, text in proc.fdinfo.items():
        info = parse(text)
        if not is_kernel_dmabuf_fd(info, fd, proc):
            continue  # a regular file named like one
        inode = info.inode if info.inode is not None else proc.fd_inodes.get(fd)
        if inode is None:
            continue
        name = info.name
        if name is None and fd in proc.links:
            name = parse_fd_link(proc.links[fd])[1]
        out.append((inode, ("f", proc.pid, fd, info, name)))
    return out


class ProcRecords:
    """``self(proc)``: ``proc``'s fd records and parsed maps lines, from last time for
    what is the same. What one refresh asked for is all that the next one may reuse
    (:meth:`turn` starts a refresh). The FdInfo and maps entries are shared between
    refreshes: their users never change them."""

    def __init__(self) -> None:
        #: pid -> (its texts, fd records, maps entries, FdInfo by text, entry by line)
        self._before: dict[int, tuple[Any, ...]] = {}
        self._now: dict[int, tuple[Any, ...]] = {}

    def turn(self) -> None:
        """A refresh begins: what the last one asked for is what can be reused."""
        self._before, self._now = self._now, {}

    def __len__(self) -> int:
        return len(self._now)

    def __call__(self, proc: ProcText) -> tuple[list[tuple[int, Record]], list[MapsEntry]]:
        # the texts themselves (a backend may refill the same dicts next time)
        key = (tuple(proc.fdinfo.items()), tuple(proc.links.items()),
               tuple(proc.fd_inodes.items()), frozenset(proc.magic_fds), tuple(proc.maps))
        hit = self._before.get(proc.pid)
        if hit is None or hit[0] != key:
            old_infos: dict[str, FdInfo] = hit[3] if hit is not None else {}
            old_lines: dict[str, MapsEntry | None] = hit[4] if hit is not None else {}
            infos: dict[str, FdInfo] = {}
            lines: dict[str, MapsEntry | None] = {}

            def parse(text: str) -> FdInfo:
                info = infos.get(text) or old_infos.get(text) or parse_fdinfo(text)
                infos[text] = info
                return info

            for line in proc.maps:
                entry = old_lines.get(line, _MISS)
                lines[line] = parse_maps_line(line) if entry is _MISS else entry  # type: ignore[assignment]
            maps = [e for e in map(lines.__getitem__, proc.maps) if e is not None]
            hit = (key, fd_records(proc, parse), maps, infos, lines)
        self._now[proc.pid] = hit
        return hit[1], hit[2]
