"""One dma-buf from everything a scan said of its inode, in the order assemble() meets it:
the holders' records (fds, mappings, GEM handles), then debugfs bufinfo, sysfs and the
BPF iterator. A pure function of its inputs, so an inode whose inputs did not change
since the last refresh keeps the Buffer built then (:class:`dmabuf_top.collect.assemble.Assembler`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from dmabuf_top.collect.parsers.bufinfo import BufinfoEntry
from dmabuf_top.collect.parsers.kernelwide import KernelBuffer
from dmabuf_top.model import Buffer, GemHandle, Holder, MapRange

#: a holder's record of one inode, as assemble() gathers them (kind first):
#: ("f", pid, fd, FdInfo, name)  an fd whose fdinfo the kernel wrote (name: its own or the link's)
#: ("m", pid, MapsEntry)         a mapping on the dma-buf filesystem
#: ("t", pid, fd)                a dma-buf fd the BPF fd iterator listed
#: ("g", pid, TaskHandle)        a GEM handle naming it
#: ("v", pid, MapsEntry)         a mapping the BPF vma iterator listed
Record = tuple[Any, ...]


class Inputs(NamedTuple):
    """Everything one inode's Buffer is made of (equal inputs, equal Buffer)."""

    records: list[Record]
    #: bufinfo's records of the inode (None: bufinfo not read)
    bufinfo: list[BufinfoEntry] | None
    #: whether a bufinfo read before the walk listed it (None: no such read)
    before: bool | None
    sysfs: list[KernelBuffer]
    bpf: list[KernelBuffer]
    #: the heaps in /dev/dma_heap
    heaps: frozenset[str]


@dataclass
class Built:
    """A Buffer and what its making adds to the scan's warnings and totals."""

    buffer: Buffer | None
    #: bufinfo records left out as disagreeing with another source
    refused: int = 0
    #: bytes of bufinfo records made during the walk (held by no one, not listed before)
    transient: int = 0
    #: its size was estimated from a mapping's length
    estimated: bool = False


def _add_source(buf: Buffer, source: str) -> None:
    if source not in buf.sources:
        buf.sources.append(source)


def _disagrees(buf: Buffer | None, e: BufinfoEntry, kernel_wide: KernelBuffer | None) -> bool:
    """Whether a bufinfo record's size or exporter is not what fdinfo, sysfs or
    BPF say of the same inode (a forged or stale record)."""
    facts = [kernel_wide] if kernel_wide is not None else []
    if buf is not None and "fdinfo" in buf.sources:
        facts.append(KernelBuffer(buf.inode, buf.size, buf.exporter))
    return any(
        (f.size and f.size != e.size) or (f.exporter and f.exporter != e.exporter)
        for f in facts
    )


def _holders(inode: int, records: list[Record]) -> tuple[Buffer | None, dict[int, Holder]]:
    buf: Buffer | None = None
    holders: dict[int, Holder] = {}
    for rec in records:
        kind, pid = rec[0], rec[1]
        if buf is None:
            name = rec[2].name if kind == "m" else None
            buf = Buffer(inode=inode, name=name)
        h = holders.get(pid)
        if h is None:
            h = holders[pid] = Holder(pid=pid)
            buf.holders.append(h)
        if kind == "f":
            info, name = rec[3], rec[4]
            if info.size is not None:
                buf.size = info.size
            if info.count is not None:
                buf.count = info.count
            if info.exporter:
                buf.exporter = info.exporter
            if name is not None:
                buf.name = name
            _add_source(buf, "fdinfo")
            h.fds.append(rec[2])
        elif kind == "g":
            th = rec[2]
            h.handles.append(GemHandle(th.fd, th.handle, th.device, th.driver))
        elif kind == "t":
            _add_source(buf, "task_file")
            h.fds.append(rec[2])
        else:  # "m", "v": a mapping
            e = rec[2]
            _add_source(buf, "maps" if kind == "m" else "task_vma")
            h.maps.append(MapRange(e.start, e.end, e.perms, e.offset))
    return buf, holders


def _merge_bufinfo(inode: int, buf: Buffer | None, x: Inputs, built: Built) -> Buffer | None:
    kernel_wide = (x.bpf or x.sysfs or [None])[-1]
    for e in x.bufinfo or ():
        if _disagrees(buf, e, kernel_wide):
            built.refused += 1
            continue
        if buf is None and x.before is False:
            built.transient += e.size
            continue
        if buf is None:
            buf = Buffer(inode=inode, size=e.size)
        buf.size = e.size
        buf.exporter = buf.exporter or e.exporter
        if e.count is not None:
            buf.count = e.count
        if e.name is not None and "fdinfo" not in buf.sources:
            buf.name = e.name
        buf.flags, buf.mode = e.flags, e.mode
        buf.fences = list(e.fences)
        buf.attachments = list(e.attachments)
        _add_source(buf, "bufinfo")
    return buf


def _merge_kernel(inode: int, buf: Buffer | None, items: list[KernelBuffer], source: str
                  ) -> Buffer | None:
    for kb in items:
        if buf is None:
            buf = Buffer(inode=inode, size=kb.size)
        if not buf.size:
            buf.size = kb.size
        if buf.exporter is None:
            buf.exporter = kb.exporter
        if buf.name is None and kb.name:
            buf.name = kb.name
        if buf.count is None and kb.count is not None:
            buf.count = kb.count
        _add_source(buf, source)
    return buf


def build_buffer(inode: int, x: Inputs) -> Built:
    """The Buffer of ``inode`` (None when every record of it was left out)."""
    built = Built(None)
    buf, _ = _holders(inode, x.records)
    buf = _merge_bufinfo(inode, buf, x, built)
    buf = _merge_kernel(inode, buf, x.sysfs, "sysfs")
    buf = _merge_kernel(inode, buf, x.bpf, "bpf")
    if buf is None:
        return built
    if not buf.size and buf.holders:
        lengths = [m.length for h in buf.holders for m in h.maps]
        if lengths:
            buf.size = max(lengths)
            built.estimated = True
    buf.heap = buf.exporter in x.heaps if buf.exporter else False
    buf.holders.sort(key=lambda h: h.pid)
    for h in buf.holders:
        h.fds.sort()
        h.maps.sort(key=lambda m: m.start)
        h.handles.sort(key=lambda g: (g.fd, g.handle))
    built.buffer = buf
    return built
