"""The events view's table (key 6): its columns (as the ``events`` command's line: time,
event, pid, comm, inode, exporter, size, the fd or device), their sets per width, sort
keys, and one row per event, keyed by the event's number in the session (rows made once
each: a refresh makes only the new events' rows)."""

from __future__ import annotations

from collections.abc import Sequence

from dmabuf_top.model import DmabufEvent
from dmabuf_top.report.columns import Column
from dmabuf_top.report.events_report import clock_text
from dmabuf_top.report.live_rows import Row
from dmabuf_top.textsafe import printable
from dmabuf_top.units import size_text

#: the most recent events the view shows, unless the settings file says (``events:``)
DEFAULT_SHOWN = 1000


def fd_or_device(e: DmabufEvent) -> str:
    """``fd=5``, ``dev=vgem`` or "" (raw text: :func:`event_cells` makes it printable)."""
    if e.fd is not None:
        return f"fd={e.fd}"
    return f"dev={e.device}" if e.device is not None else ""


EVENT_COLUMNS: list[Column] = [
    Column("time", "TIME", lambda e: e.time, "int", 12, True, "t"),
    Column("event", "EVENT", lambda e: e.kind, "text", 7, False, "e"),
    Column("pid", "PID", lambda e: e.pid, "int", 7, False, "p"),
    Column("comm", "COMM", lambda e: e.comm, "text", 16, False, "n"),
    Column("inode", "INODE", lambda e: e.inode, "int", 8, False, "i"),
    Column("exporter", "EXPORTER", lambda e: e.exporter, "text", 12, False, "x"),
    Column("size", "SIZE", lambda e: e.size, "bytes", 9, True, "s"),
    Column("fd", "FD/DEVICE", fd_or_device, "text", 12, False, "d"),
]
#: widest first; at 80 columns the exporter gives way (the inode leads to it)
EVENT_LAYOUTS = [
    "time event pid comm inode exporter size fd:12",
    "time event pid comm:12 inode size:7 fd:9",
]
#: the fields a filter looks at
SEARCH = ("event", "pid", "comm", "inode", "exporter", "fd")
DEFAULT_SORT = ("time", False)


def event_column(key: str) -> Column:
    return next(c for c in EVENT_COLUMNS if c.key == key)


def column_for_letter(letter: str) -> Column | None:
    return next((c for c in EVENT_COLUMNS if c.letter == letter.lower()), None)


def event_cells(e: DmabufEvent, raw_bytes: bool = False) -> tuple[str, ...]:
    """One event's cells; untrusted text (comm, exporter, device) made printable."""
    return (
        clock_text(e.time)[:12], e.kind, str(e.pid), printable(e.comm), str(e.inode),
        printable(e.exporter), size_text(e.size, raw_bytes), printable(fd_or_device(e)),
    )


_SEARCH_AT = [i for i, c in enumerate(EVENT_COLUMNS) if c.key in SEARCH]


class EventRows:
    """Rows of events by number, made once each (in the units asked for)."""

    def __init__(self) -> None:
        self._rows: dict[int, Row] = {}
        self._raw_bytes = False

    def get(self, key: str) -> Row | None:
        """The row of key ``key`` made last."""
        return self._rows.get(int(key)) if key.isdigit() else None

    def rows(self, first: int, events: Sequence[DmabufEvent], raw_bytes: bool) -> list[Row]:
        """The rows of ``events`` (numbered from ``first``), newest first; the rows of
        events no longer among them are let go."""
        if raw_bytes != self._raw_bytes:
            self._rows.clear()
            self._raw_bytes = raw_bytes
        old, made = self._rows, {}
        for n, e in enumerate(events, first):
            row = old.get(n)
            if row is None:
                cells = event_cells(e, raw_bytes)
                row = Row(str(n), e, cells, tuple(cells[i].lower() for i in _SEARCH_AT))
            made[n] = row
        self._rows = made
        return list(reversed(made.values()))
