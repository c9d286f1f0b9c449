"""Reading /proc: whole files by path or relative to an open directory, and the facts
of one process (comm, cmdline, owner, stat), of holders and of their ancestors."""

from __future__ import annotations

import os
from collections.abc import Callable

from dmabuf_top.collect.parsers.bpf_types import TASK_KERNEL_THREAD, TaskFacts
from dmabuf_top.collect.parsers.procstat import ProcStat, cmdline_text, parse_stat
from dmabuf_top.collect.rawscan import ProcText

O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_O_RD = os.O_RDONLY | os.O_CLOEXEC


def _read_fd(fd: int) -> bytes:
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        chunks.append(b)
    return b"".join(chunks)


def read_bytes(path: str, dir_fd: int | None = None) -> bytes:
    fd = os.open(path, _O_RD, dir_fd=dir_fd)
    try:
        return _read_fd(fd)
    finally:
        os.close(fd)


#: the first read of a one-record file: a page (what such a record takes, but for
#: long cgroup paths; then the rest is read), not 64 KiB allocated to be cut back
_FIRST = 4096


def read_one(path: str, dir_fd: int | None = None) -> bytes:
    """A /proc file the kernel hands over whole in the first read when it fits (a
    seq_file of one record: fdinfo, stat, cgroup; and cmdline): one read does instead
    of read-until-empty's two; more only when the first filled the buffer."""
    fd = os.open(path, _O_RD, dir_fd=dir_fd)
    try:
        b = os.read(fd, _FIRST)
        if len(b) == _FIRST:
            b += _read_fd(fd)
    finally:
        os.close(fd)
    return b


def read_record(path: str, dir_fd: int | None = None) -> str:
    """:func:`read_one`, decoded."""
    return read_one(path, dir_fd).decode("utf-8", "backslashreplace")


def read_text(path: str, dir_fd: int | None = None) -> str:
    return read_bytes(path, dir_fd).decode("utf-8", "backslashreplace")


class HeldText:
    """A kernel text file opened once and read from its start as often as asked.

    A seq_file printed by one ``show`` (debugfs bufinfo) prints into a page, then into
    twice that, and so on until all of it fits: a fresh open of a 400 KiB text has the
    kernel print it 8 times. An open file keeps the buffer its first read grew, so a
    read again prints it once (the same bytes as a fresh open's, of the moment)."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, _O_RD)

    def read(self) -> str | None:
        """The whole text now, or None when it can no longer be read."""
        try:
            os.lseek(self.fd, 0, os.SEEK_SET)
            return _read_fd(self.fd).decode("utf-8", "backslashreplace")
        except OSError:
            return None

    def close(self) -> None:
        os.close(self.fd)


def open_held(path: str) -> HeldText | None:
    """``path`` opened for :class:`HeldText` reads, or None when absent or unreadable."""
    try:
        return HeldText(path)
    except OSError:
        return None


def read_optional(path: str) -> str | None:
    """A kernel-wide file's text, or None when absent or unreadable."""
    try:
        return read_text(path)
    except OSError:
        return None


def read_holder_facts(pt: ProcText, pdir: int) -> None:
    """stat, cmdline and uid of a holder (``pdir``: its open /proc/PID); what
    cannot be read (gone, refused) stays None. Its comm is stat's (the kernel
    prints the same name in both), so ``comm`` is not read."""
    try:
        pt.stat = read_record("stat", dir_fd=pdir)
    except OSError:
        pass
    try:
        pt.cmdline = cmdline_text(read_one("cmdline", dir_fd=pdir))
        pt.uid = os.stat(pdir).st_uid
    except OSError:
        pass


def read_holders(pids: set[int], proc: str = "/proc") -> list[ProcText]:
    """Facts of the holders a BPF scan found (no fd or maps reads)."""
    out = []
    for pid in sorted(pids):
        pt = ProcText(pid=pid)
        try:
            pdir = os.open(f"{proc}/{pid}", O_DIR)
        except OSError:
            out.append(pt)  # gone since: still a holder of this scan
            continue
        try:
            read_holder_facts(pt, pdir)
        finally:
            os.close(pdir)
        out.append(pt)
    return out


def read_ancestor_stats(procs: list[ProcText], proc: str = "/proc",
                        parse: Callable[[str], ProcStat | None] = parse_stat) -> dict[int, str]:
    """pid -> ``/proc/PID/stat`` text of every ancestor of ``procs`` (parents,
    theirs, ... up to pid 1) that is not one of them: one read per ancestor.
    ``parse``: :func:`parse_stat`, or a memo of it (stat texts the walk parses anyway)."""
    texts = {pt.pid: pt.stat for pt in procs if pt.stat is not None}
    out: dict[int, str] = {}
    todo = list(texts.values())
    while todo:
        st = parse(todo.pop())
        if st is None or not st.ppid or st.ppid in texts:
            continue
        try:
            text = read_record(f"{proc}/{st.ppid}/stat")
        except OSError:
            continue  # gone (its children were reparented) or hidden
        texts[st.ppid] = out[st.ppid] = text
        todo.append(text)
    return out


def read_bpf_task_leftovers(
    tasks: dict[int, TaskFacts], holders: set[int], proc: str = "/proc"
) -> tuple[list[ProcText], dict[int, str]]:
    """What /proc must still say after the process iterator: the holders it could
    not say all of (and those it did not see: gone, or new since), and the stat of
    the kernel threads among their ancestors (whose comm stat shows in full)."""
    procs = read_holders({p for p in holders if p not in tasks or not tasks[p].complete}, proc)
    stats: dict[int, str] = {}
    seen = set(holders)
    for pid in holders:
        task = tasks.get(pid)
        while task is not None and task.ppid and task.ppid not in seen:
            seen.add(task.ppid)
            task = tasks.get(task.ppid)
            if task is not None and task.flags & TASK_KERNEL_THREAD:
                try:
                    stats[task.pid] = read_text(f"{proc}/{task.pid}/stat")
                except OSError:
                    pass  # gone: its iterator record stays
    return procs, stats


#: where cgroup v2 is mounted
CGROUP_ROOT = "/sys/fs/cgroup"
#: the most read of one cgroup file (a dmem file is a line per region)
_CGROUP_FILE_MAX = 65536


def read_cgroups(pids: list[int] | set[int], proc: str = "/proc") -> dict[int, str]:
    """pid -> ``/proc/PID/cgroup`` text of the holders that can still be read."""
    out = {}
    for pid in sorted(pids):
        try:
            out[pid] = read_record(f"{proc}/{pid}/cgroup")
        except OSError:
            pass  # gone, or hidden
    return out


def read_cgroup_files(
    paths: set[str], names: tuple[str, ...], root: str = CGROUP_ROOT
) -> dict[str, dict[str, str]]:
    """cgroup path -> file name -> text of the files ``names`` that the kernel has
    in each cgroup directory (none: an empty mapping); paths with ``..`` or not
    under ``root`` are left out, links are not followed, each read is bounded."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(paths):
        parts = [p for p in path.split("/") if p]
        if not path.startswith("/") or any(p in (".", "..") for p in parts):
            continue
        try:
            dfd = os.open("/".join([root, *parts]), O_DIR | os.O_NOFOLLOW)
        except OSError:
            continue  # not a v2 cgroup here (a v1 path, or gone)
        files = out[path] = {}
        try:
            for name in names:
                try:
                    fd = os.open(name, _O_RD | os.O_NOFOLLOW, dir_fd=dfd)
                except OSError:
                    continue  # the kernel has no such controller file here
                try:
                    files[name] = os.read(fd, _CGROUP_FILE_MAX).decode("utf-8", "replace")
                except OSError:
                    pass
                finally:
                    os.close(fd)
        finally:
            os.close(dfd)
    return out
