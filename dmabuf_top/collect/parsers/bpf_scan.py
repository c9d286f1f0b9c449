"""Text of dmabuf-top's own BPF iterators (collect/bpf/dmabuf_top.bpf.c): buffers
(``b INODE SIZE COUNT xEXPORTER xNAME``), dma-buf fds (``f TGID FD INODE``) and
dma-buf mappings (``m TGID START END FLAGS PGOFF INODE MAJOR MINOR``), open DRM files
(``d TGID FD MINOR TYPE xDRIVER``) and their GEM handles that name dma-bufs (``g TGID
FD HANDLE INODE``), in the fd text, and processes (``p TGID PPID EUID START_NS FLAGS
xCOMM xCMDLINE``).

Strings come hex-encoded (untrusted bytes cannot end a field); they are decoded as
the /proc walk decodes kernel text (UTF-8, undecodable bytes backslash-escaped).
Malformed lines are skipped, never raised on.

Each ``parse_*`` also takes the binary build's records (``bytes``: parsers/
bpf_records.py, which raises :class:`BpfRecordsError` on malformed ones) and gives the
same records (parsers/bpf_types.py)."""

from __future__ import annotations

import re

from dmabuf_top.collect.parsers import bpf_records
from dmabuf_top.collect.parsers.bpf_records import BpfRecordsError
from dmabuf_top.collect.parsers.bpf_types import (
    PID_LIMIT,
    TASK_CMDLINE_ELSEWHERE,
    TASK_KERNEL_THREAD,
    TaskFacts,
    TaskFile,
    TaskHandle,
    TaskVma,
    device_node,
    ns_per_tick,
    perms_of,
)
from dmabuf_top.collect.parsers.kernelwide import KernelBuffer
from dmabuf_top.collect.parsers.maps import MapsEntry
from dmabuf_top.collect.parsers.numbers import LIMIT
from dmabuf_top.collect.parsers.procstat import cmdline_text

__all__ = [
    "BpfRecordsError", "TASK_CMDLINE_ELSEWHERE", "TASK_KERNEL_THREAD", "TaskFacts", "TaskFile",
    "TaskHandle", "TaskVma", "holder_pids", "parse_bpf_buffers", "parse_bpf_files",
    "parse_bpf_handles", "parse_bpf_tasks", "parse_bpf_vmas", "perms_of",
]


def _bytes(field: str) -> bytes | None:
    """``x`` + hex -> the bytes (None for junk)."""
    if not field.startswith("x") or len(field) % 2 == 0:
        return None
    try:
        return bytes.fromhex(field[1:])
    except ValueError:
        return None


def _text(field: str) -> str | None:
    """``x`` + hex -> the string (None for an empty one or junk)."""
    raw = _bytes(field)
    return raw.decode("utf-8", "backslashreplace") if raw else None


_U = r"([0-9]{1,20})"
_X = r"([0-9a-fA-F]{1,16})"
_BUFFER_RE = re.compile(rf"^b {_U} {_U} {_U} (x\S*) (x\S*)$", re.M)
_FILE_RE = re.compile(rf"^f {_U} {_U} {_U}$", re.M)
_VMA_RE = re.compile(rf"^m {_U} {_X} {_X} {_X} {_U} {_U} {_U} {_U}$", re.M)
_HANDLE_RE = re.compile(rf"^g {_U} {_U} {_U} {_U}$", re.M)
_DRM_FILE_RE = re.compile(rf"^d {_U} {_U} {_U} {_U} (x\S*)$", re.M)
_TASK_RE = re.compile(rf"^p {_U} {_U} {_U} {_U} {_U} (x[0-9a-f]*) (x[0-9a-f]*)$", re.M)


def parse_bpf_buffers(text: str | bytes) -> list[KernelBuffer]:
    """The ``dmabuf_buffers`` iterator: every buffer, with its file count."""
    if isinstance(text, bytes):
        return bpf_records.parse_buffers(text)
    out = []
    for ino, size, count, exporter, name in _BUFFER_RE.findall(text):
        inode, nbytes, refs = int(ino), int(size), int(count)
        if inode >= LIMIT or nbytes >= LIMIT:
            continue
        refs_or_none = refs if refs < LIMIT else None
        out.append(KernelBuffer(inode, nbytes, _text(exporter), _text(name), refs_or_none))
    return out


def parse_bpf_files(text: str | bytes) -> list[TaskFile]:
    """The ``dmabuf_files`` iterator; a (pid, fd) seen twice (threads) counts once."""
    if isinstance(text, bytes):
        return bpf_records.parse_files(text)
    seen: dict[tuple[int, int], TaskFile] = {}
    for tgid, fd_text, ino in _FILE_RE.findall(text):
        pid, fd, inode = int(tgid), int(fd_text), int(ino)
        if 0 < pid < PID_LIMIT and fd < PID_LIMIT and inode < LIMIT:
            seen.setdefault((pid, fd), TaskFile(pid, fd, inode))
    return list(seen.values())


def parse_bpf_handles(text: str | bytes) -> list[TaskHandle]:
    """The GEM handle records of the ``dmabuf_files`` iterator, each with its DRM
    file's device (``?`` when the file's record is missing); a (pid, fd, handle)
    seen twice (threads, or another read of the iterator) counts once."""
    if isinstance(text, bytes):
        return bpf_records.parse_handles(text)
    devices: dict[tuple[int, int], tuple[str, str | None]] = {}
    for tgid, fd_text, minor, kind, driver in _DRM_FILE_RE.findall(text):
        index = int(minor)
        if index < PID_LIMIT and len(kind) <= 3:
            node = device_node(int(kind), index)
            devices.setdefault((int(tgid), int(fd_text)), (node, _text(driver)))
    seen: dict[tuple[int, int, int], TaskHandle] = {}
    for tgid, fd_text, num, ino in _HANDLE_RE.findall(text):
        pid, fd, handle, inode = int(tgid), int(fd_text), int(num), int(ino)
        if not 0 < pid < PID_LIMIT or fd >= PID_LIMIT or handle >= PID_LIMIT:
            continue
        if inode >= LIMIT:
            continue
        node, driver = devices.get((pid, fd), ("?", None))
        seen.setdefault((pid, fd, handle), TaskHandle(pid, fd, handle, inode, node, driver))
    return list(seen.values())


_HOLDER_RE = re.compile(r"^[fmg] ([0-9]{1,10}) ", re.M)


def holder_pids(files: str | bytes, vmas: str | bytes) -> set[int]:
    """The pids of the fd, GEM handle and mapping records, without parsing them whole
    (what to ask /proc about; assemble() parses the records)."""
    if isinstance(files, bytes) and isinstance(vmas, bytes):
        return bpf_records.holder_pids(files, vmas)
    if isinstance(files, bytes) or isinstance(vmas, bytes):
        raise BpfRecordsError("fd and mapping records in two formats")
    return {int(p) for text in (files, vmas) for p in _HOLDER_RE.findall(text)}


def parse_bpf_vmas(text: str | bytes, page_size: int = 4096) -> list[TaskVma]:
    """The ``dmabuf_vmas`` iterator; a mapping seen twice (threads) counts once.
    ``page_size`` turns vm_pgoff into the byte offset maps shows."""
    if isinstance(text, bytes):
        return bpf_records.parse_vmas(text, page_size)
    seen: dict[tuple[int, int], TaskVma] = {}
    for tgid, lo, hi, flags, pgoff, ino, major, minor in _VMA_RE.findall(text):
        pid, start, end, pages, inode = int(tgid), int(lo, 16), int(hi, 16), int(pgoff), int(ino)
        dev = (int(major), int(minor))
        if not 0 < pid < PID_LIMIT or end < start or pages >= LIMIT or inode >= LIMIT:
            continue
        if dev[0] >= PID_LIMIT or dev[1] >= PID_LIMIT:
            continue
        entry = MapsEntry(start, end, perms_of(int(flags, 16)), pages * page_size, inode, None, dev)
        seen.setdefault((pid, start), TaskVma(pid, entry))
    return list(seen.values())


def parse_bpf_tasks(text: str | bytes, ticks_per_second: int = 100) -> dict[int, TaskFacts]:
    """The ``dmabuf_tasks`` iterator: pid -> its process's facts. The start time
    (nanoseconds since boot) becomes clock ticks as the kernel rounds it for stat."""
    if isinstance(text, bytes):
        return bpf_records.parse_tasks(text, ticks_per_second)
    tick = ns_per_tick(ticks_per_second)
    out: dict[int, TaskFacts] = {}
    for tgid, ppid, uid, start_ns, flags, comm, cmdline in _TASK_RE.findall(text):
        pid, parent, owner, started = int(tgid), int(ppid), int(uid), int(start_ns)
        raw_comm, raw_cmdline = _bytes(comm), _bytes(cmdline)
        if raw_comm is None or raw_cmdline is None or not 0 < pid < PID_LIMIT:
            continue
        if parent >= PID_LIMIT or owner >= PID_LIMIT or started >= LIMIT:
            continue
        out[pid] = TaskFacts(
            pid, parent, owner, started // tick,
            raw_comm.decode("utf-8", "backslashreplace"), cmdline_text(raw_cmdline),
            int(flags) & (TASK_KERNEL_THREAD | TASK_CMDLINE_ELSEWHERE),
        )
    return out
