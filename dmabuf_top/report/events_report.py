"""dma-buf events as lines (``dmabuf-top events``: one per event, as ``perf trace``
prints them) and as JSON objects; untrusted text (comm, exporter, device) shown
through ``printable()`` in text, kept whole (escaped) in JSON."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from dmabuf_top.io.jsontext import dump_json
from dmabuf_top.model import DmabufEvent
from dmabuf_top.textsafe import printable
from dmabuf_top.units import size_text

#: the longest event name (``release``), for aligned columns
_KIND_WIDTH = 7


def event_doc(e: DmabufEvent) -> dict[str, Any]:
    """One event as a JSON object (time in wall-clock seconds since the epoch)."""
    return {
        "time": round(e.time, 6), "event": e.kind, "pid": e.pid, "comm": e.comm,
        "inode": e.inode, "exporter": e.exporter, "size": e.size, "fd": e.fd,
        "device": e.device,
    }


def clock_text(t: float) -> str:
    """``HH:MM:SS.ffffff`` UTC: an event's time in a line."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%H:%M:%S.%f")


def event_line(e: DmabufEvent, raw_bytes: bool = False) -> str:
    """One event as one line: time, event, comm/pid, inode, exporter, size, and the
    fd or device when it has one."""
    tail = ""
    if e.fd is not None:
        tail = f"  fd={e.fd}"
    elif e.device is not None:
        tail = f"  dev={printable(e.device)}"
    return (
        f"{clock_text(e.time)} {e.kind:<{_KIND_WIDTH}} {printable(e.comm)}/{e.pid}"
        f"  ino={e.inode}  exp={printable(e.exporter)}  size={size_text(e.size, raw_bytes)}"
        f"{tail}"
    )


def text_line(e: DmabufEvent, raw: bool = False) -> str:
    """:func:`event_line` newline-terminated."""
    return event_line(e, raw) + "\n"


def event_json_line(e: DmabufEvent) -> str:
    """One event as one line of JSON (ASCII only), newline-terminated."""
    return dump_json(event_doc(e), compact=True)
