"""The /proc walk's memory of dma-buf fds: the fdinfo text of an fd the last walk read,
given again instead of reading it only when it is provably what a read would give for
every figure.

Proof, per fd: the same process (pid and start time, read through the same open
``/proc/PID``), the same fd number and link text, ``stat`` of the fd giving the same
inode on the dma-buf filesystem's device (a dma-buf's size and exporter never change;
its name is the link's, checked equal to fdinfo's when it was read), and, once the
walk is over, debugfs bufinfo listing that inode with the same size and exporter and a
count (which replaces fdinfo's, the one field that moves). What fails any of these is
read.
"""

from __future__ import annotations

import os
from collections.abc import Set as AbstractSet
from typing import NamedTuple

from dmabuf_top.collect.parsers.bufinfo import BufinfoEntry
from dmabuf_top.collect.parsers.fdinfo import parse_fd_link, parse_fdinfo
from dmabuf_top.collect.rawscan import ProcText


class KnownFd(NamedTuple):
    """A dma-buf fd as the last walk read it (its buffer first: ``known[BUFFER]``)."""

    inode: int
    size: int | None
    exporter: str
    link: str
    #: the dma-buf filesystem's device (``st_dev``)
    dev: int
    text: str


#: a :class:`KnownFd`'s buffer, (inode, size, exporter), as :func:`counted_buffers` lists them
BUFFER = slice(0, 3)


#: a buffer as :func:`counted_buffers` lists them: (inode, size, exporter)
Buffer = tuple[int, int | None, str]
#: pid -> (start time, fd -> what the last walk read of it, the buffers of those fds)
Known = dict[int, tuple[int, dict[int, KnownFd], frozenset[Buffer]]]


def known_fds(procs: list[ProcText], starts: dict[int, int | None],
              dev: tuple[int, int] | None, last: Known, same: AbstractSet[int] = frozenset(),
              ) -> Known:
    """What of this walk the next may reuse: the kernel-verified dma-buf fds (fdinfo
    with ``exp_name:`` and ``ino:``) whose fdinfo name is their link's, of the
    processes whose start time is known (``starts``); ``dev``: the dma-buf
    filesystem's (major, minor); ``last``'s entry where the same text was given again
    (not parsed again), and ``last``'s entries of a pid in ``same`` as they are (the
    walk gave every dma-buf fd of it again, and found no other). Each pid's entry
    also holds its fds' buffers, for one subset test against bufinfo's."""
    out: Known = {}
    if dev is None:
        return out
    st_dev = os.makedev(*dev)
    for pt in procs:
        start = starts.get(pt.pid)
        if start is None:
            continue
        was_start, was, _ = last.get(pt.pid, (None, {}, frozenset()))
        if was_start != start:
            was = {}
        elif pt.pid in same:
            out[pt.pid] = last[pt.pid]
            continue
        fds = {}
        for fd, text in pt.fdinfo.items():
            k = was.get(fd)
            if k is not None and k.text is text and k.link == pt.links.get(fd) and k.dev == st_dev:
                fds[fd] = k
                continue
            info = parse_fdinfo(text)
            link = pt.links.get(fd)
            if (info.exporter is None or info.inode is None or link is None
                    or parse_fd_link(link)[1] != info.name):
                continue
            fds[fd] = KnownFd(info.inode, info.size, info.exporter, link, st_dev, text)
        if fds:
            out[pt.pid] = (start, fds, frozenset(k[BUFFER] for k in fds.values()))
    return out


def counted_buffers(index: dict[int, list[BufinfoEntry]]) -> frozenset[Buffer]:
    """The buffers bufinfo gives a count, as ``known[BUFFER]`` says them: a reused
    fdinfo's count is not used where its buffer is one of these (a record of its inode
    with its size and exporter, so no source refuses it, and a count)."""
    return frozenset((ino, e.size, e.exporter) for ino, records in index.items()
                     for e in records if e.count is not None)
