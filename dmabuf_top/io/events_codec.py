"""dma-buf events in recordings: the optional ``dmabuf-top-events/1`` document a
recorder writes before a sample, holding the events seen since the sample before.

One line, ``--- {"schema":"dmabuf-top-events/1","lost":N,"events":[[...],...]}``
(JSON, so a YAML flow mapping), written with the sample after it in one write. Each
event is ``[time, event, pid, comm, inode, exporter, size, fd, device]`` (time in
wall-clock seconds; fd and device null when the event has none); ``lost`` counts the
events the kernel dropped so far. Readers without events support never meet one in
a recording made without events, and recordings made before events load unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.model import DmabufEvent

EVENTS_SCHEMA = "dmabuf-top-events/1"
EVENT_NAMES = frozenset({"export", "fd", "get", "attach", "detach", "mmap", "release"})
#: the longest text kept of an event's comm, exporter or device (a file is untrusted)
TEXT_MAX = 256


def event_to_list(e: DmabufEvent) -> list[Any]:
    return [round(e.time, 6), e.kind, e.pid, e.comm, e.inode, e.exporter, e.size, e.fd, e.device]


def events_line(events: Iterable[DmabufEvent], lost: int) -> str:
    """The events document (one line, newline-terminated)."""
    doc = {"schema": EVENTS_SCHEMA, "lost": lost, "events": [event_to_list(e) for e in events]}
    return "--- " + json.dumps(doc, ensure_ascii=True, separators=(",", ":")) + "\n"


def is_events_doc(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("schema") == EVENTS_SCHEMA


#: an event's time: wall-clock seconds from 1970 to 2242 (2**33: past any clock a
#: recorder had; beyond, float(), datetime and Perfetto's nanoseconds overflow)
TIME_MAX = 2**33


def _int(v: Any, limit: int = 2**64) -> bool:
    """A count, inode or size as the kernel's record holds it (unsigned, below ``limit``)."""
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < limit


def _time(v: Any) -> bool:
    """NaN compares false; a huge int is refused before float() would overflow."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < TIME_MAX


def _text(v: Any) -> bool:
    return isinstance(v, str) and len(v) <= TEXT_MAX


def event_from_list(item: Any, where: str) -> DmabufEvent:
    """One event entry, checked: a malformed one is a one-line :class:`SnapshotError`."""
    ok = isinstance(item, list) and len(item) == 9
    if ok:
        t, kind, pid, comm, ino, exp, size, fd, dev = item
        ok = (
            _time(t) and kind in EVENT_NAMES
            and _int(pid, 2**32) and _text(comm) and _int(ino) and _text(exp) and _int(size)
            and (fd is None or (isinstance(fd, int) and not isinstance(fd, bool)
                                and -(2**31) <= fd < 2**31))
            and (dev is None or _text(dev))
        )
    if not ok:
        raise SnapshotError(f"{where}: malformed event {json.dumps(item)[:80]}")
    return DmabufEvent(time=float(t), kind=kind, pid=pid, comm=comm, inode=ino, exporter=exp,
                       size=size, fd=fd, device=dev)


def events_from_doc(doc: dict[str, Any], where: str) -> tuple[list[DmabufEvent], int]:
    """(events, lost so far) of an events document."""
    items, lost = doc.get("events"), doc.get("lost", 0)
    if not isinstance(items, list) or not _int(lost):
        raise SnapshotError(f"{where}: malformed events document")
    return [event_from_list(item, where) for item in items], lost
