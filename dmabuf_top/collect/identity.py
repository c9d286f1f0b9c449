"""Is it really a dma-buf? A file anyone can create may be named ``/dmabuf:...``: its
fd link and maps line then look like a dma-buf's, and its inode number can equal a
real buffer's. Only what the kernel says counts: an fd is a dma-buf when its fdinfo
has ``exp_name:`` (or statfs says the dma-buf filesystem, or its link is the
pre-5.3 ``anon_inode:dmabuf``, which no path can be); a mapping is one when its device
is the dma-buf filesystem's, learned from a verified fd or, failing that, from the
mappings of inodes that a kernel-wide source lists."""

from __future__ import annotations

from collections.abc import Iterable

from dmabuf_top.collect.parsers.fdinfo import OLD_DMABUF_LINK, FdInfo
from dmabuf_top.collect.parsers.maps import MapsEntry
from dmabuf_top.collect.rawscan import ProcText


def is_kernel_dmabuf_fd(info: FdInfo, fd: int, proc: ProcText) -> bool:
    """Whether fd ``fd`` of ``proc`` (whose fdinfo is ``info``) is a dma-buf."""
    return (
        info.exporter is not None
        or fd in proc.magic_fds
        or proc.links.get(fd) == OLD_DMABUF_LINK
    )


def dmabuf_device(
    known: tuple[int, int] | None,
    maps: Iterable[MapsEntry],
    kernel_inodes: set[int],
) -> tuple[int, int] | None:
    """The dma-buf filesystem's device: ``known`` (from a verified fd), else the one
    device that mappings of kernel-listed inodes are on; None when there is none or
    more than one (a look-alike file with a buffer's inode number)."""
    if known is not None:
        return known
    devs = {e.dev for e in maps if e.inode in kernel_inodes}
    return devs.pop() if len(devs) == 1 else None


def impostor_warning(maps: int) -> str:
    """Mappings of look-alike files (their fds are never counted either, but only
    the local backend sees those: the adb collector picks fds by filesystem magic)."""
    return (
        f"{maps} mapping{'' if maps == 1 else 's'} of files named like dma-bufs "
        "(/dmabuf...) not on the dma-buf filesystem: ignored"
    )


def unverified_warning(n: int) -> str:
    return (
        f"{n} mapping{'' if n == 1 else 's'} named like dma-bufs could not be verified "
        "(no dma-buf fd and no kernel-wide record to learn the dma-buf device from): "
        "kept apart, not counted"
    )
