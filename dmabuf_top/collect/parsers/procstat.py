"""``/proc/PID/stat``: a process's parent and start time (for a process tree and to
tell a reused pid from the process that had it before); ``/proc/PID/cmdline`` as text.

The line is ``PID (COMM) STATE PPID ...`` with the start time (clock ticks since
boot) as field 22. COMM is the task's name as it is, up to 15 bytes of anything:
spaces, ``)``, even a newline. No other field holds a ``)``, so the line is split
at the LAST one.
"""

from __future__ import annotations

from dataclasses import dataclass

from dmabuf_top.collect.parsers.numbers import parse_int

#: fields after COMM up to the start time (field 22): state (3) ... starttime (22)
_FIELDS_TO_START = 22 - 2


@dataclass(frozen=True)
class ProcStat:
    pid: int
    comm: str
    state: str
    ppid: int
    #: clock ticks since boot (``sysconf(_SC_CLK_TCK)`` a second)
    start_time: int


def parse_stat(text: str) -> ProcStat | None:
    """One ``/proc/PID/stat`` text; None when it is not one (cut short, junk)."""
    head, sep, tail = text.rpartition(")")
    pid_text, paren, comm = head.partition(" (")
    if not sep or not paren:
        return None
    fields = tail.split()
    if len(fields) < _FIELDS_TO_START:
        return None
    pid = parse_int(pid_text)
    ppid = parse_int(fields[1])
    start = parse_int(fields[_FIELDS_TO_START - 1])
    if pid is None or ppid is None or start is None:
        return None
    return ProcStat(pid=pid, comm=comm, state=fields[0], ppid=ppid, start_time=start)


def cmdline_text(raw: bytes) -> str:
    """``/proc/PID/cmdline`` bytes as one line: NUL-separated arguments joined by
    spaces, undecodable bytes backslash-escaped (shown literally later)."""
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "backslashreplace")
