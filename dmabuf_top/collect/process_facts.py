"""A holder's :class:`Process` from what /proc said of it (stat, comm, cmdline, uid) and
what the BPF task iterator said; the holders' ancestors that hold nothing."""

from __future__ import annotations

from collections.abc import Callable

from dmabuf_top.collect.parsers.bpf_types import TaskFacts
from dmabuf_top.collect.parsers.procstat import ProcStat, parse_stat
from dmabuf_top.collect.rawscan import ProcText, RawScan
from dmabuf_top.model import Process

#: parse_stat, or a memo of it
StatParser = Callable[[str], "ProcStat | None"]


def _stat(pid: int, text: str | None, parse: StatParser = parse_stat) -> ProcStat | None:
    st = parse(text) if text is not None else None
    return st if st is not None and st.pid == pid else None


def _task_stat(task: TaskFacts | None) -> ProcStat | None:
    """The task iterator's record as the stat facts it stands in for."""
    return None if task is None else ProcStat(task.pid, task.comm, "", task.ppid, task.start_time)


def holder_process(
    pid: int, proc: ProcText | None, task: TaskFacts | None, parse: StatParser = parse_stat
) -> Process:
    """A holder's facts: what /proc said of it, and what the task iterator said
    where /proc did not (not read, gone)."""
    if proc is None and task is None:
        return Process(pid=pid)
    pst = _stat(pid, proc.stat, parse) if proc is not None else None
    st = pst or _task_stat(task)
    comm, cmdline, uid = (proc.comm, proc.cmdline, proc.uid) if proc else (None, None, None)
    if comm is None and pst is not None:
        comm = pst.comm  # the local walk reads stat only: its comm is /proc/PID/comm
    if task is not None:
        comm = task.comm if comm is None else comm
        cmdline = task.cmdline if cmdline is None else cmdline
        uid = task.uid if uid is None else uid
    return Process(
        pid=pid, comm=comm or "", cmdline=cmdline or "", uid=uid,
        ppid=st.ppid if st else None, start_time=st.start_time if st else None,
    )


def ancestors_of(
    processes: dict[int, Process], raw: RawScan, tasks: dict[int, TaskFacts],
    parse: StatParser = parse_stat,
) -> dict[int, Process]:
    """The holders' ancestors that hold nothing (parent, its parent... as far as a
    stat text or the task iterator says), as processes without buffers, by pid."""
    texts = dict(raw.ancestor_stats)
    texts.update((p.pid, p.stat) for p in raw.procs if p.stat is not None)
    out: dict[int, Process] = {}
    for proc in processes.values():
        pid = proc.ppid
        while pid and pid not in processes and pid not in out:
            st = _stat(pid, texts.get(pid), parse) or _task_stat(tasks.get(pid))
            if st is None:
                break
            out[pid] = Process(pid=pid, comm=st.comm, ppid=st.ppid, start_time=st.start_time)
            pid = st.ppid
    return dict(sorted(out.items()))
