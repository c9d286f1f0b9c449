"""Decode the event source's binary records (collect/bpf/dmabuf_events.bpf.c,
``struct dmabuf_event``: 128 bytes, little-endian) into :class:`DmabufEvent`.
Pure: bytes in, records out; no text parsing per event."""

from __future__ import annotations

import struct

from dmabuf_top.model import DmabufEvent

#: struct dmabuf_event: ts_ns ino size tgid tid fd kind comm[16] exporter[32] device[40]
RECORD = struct.Struct("<QQQIIiI16s32s40s")
#: kind numbers, as the BPF program's enum (index = number)
EVENT_KINDS = (None, "export", "fd", "get", "attach", "detach", "mmap", "release")
#: the events that name a device / an fd
DEVICE_KINDS = frozenset({"attach", "detach"})
FD_KINDS = frozenset({"fd", "get"})


def _text(raw: bytes) -> str:
    """A bounded NUL-padded kernel string: untrusted bytes, kept as they are
    (undecodable bytes as surrogate escapes; shown through ``printable()``)."""
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def decode_events(data: bytes, boot_to_wall: float) -> list[DmabufEvent]:
    """Every whole record in ``data``; ``boot_to_wall`` is added to the records'
    CLOCK_BOOTTIME seconds to give wall-clock seconds. A record of an unknown
    kind is skipped; a trailing partial record is ignored."""
    out: list[DmabufEvent] = []
    whole = len(data) - len(data) % RECORD.size
    nkinds = len(EVENT_KINDS)
    for ts, ino, size, tgid, tid, fd, kind, comm, exp, dev in RECORD.iter_unpack(
        memoryview(data)[:whole]
    ):
        if not 0 < kind < nkinds:
            continue
        name = EVENT_KINDS[kind]
        out.append(DmabufEvent(
            time=ts / 1e9 + boot_to_wall,
            kind=name,
            pid=tgid,
            comm=_text(comm),
            inode=ino,
            exporter=_text(exp),
            size=size,
            fd=fd if name in FD_KINDS else None,
            device=_text(dev) if name in DEVICE_KINDS else None,
            tid=tid,
        ))
    return out
