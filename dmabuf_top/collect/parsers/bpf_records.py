"""Binary records of dmabuf-top's BPF iterators (``struct rec_*`` in
collect/bpf/dmabuf_top.bpf.c): packed little-endian structs, each behind an 8-byte
record head (magic 0xdb, format version, kind letter, the record's size), read with
``struct`` into records (bpf_types.py, KernelBuffer).

Every stream is checked whole before any record is used: the head of every record,
each size and string length against the bytes present (the buffer, fd and mapping
streams are of one record size, checked by slices at C speed). Malformed input raises
:class:`BpfRecordsError` (one line), never anything else; nothing is allocated from a
length the input gives."""

from __future__ import annotations

import struct
from collections.abc import Callable

from dmabuf_top.collect.parsers.bpf_types import (
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
from dmabuf_top.collect.parsers.procstat import cmdline_text

MAGIC, VERSION = 0xDB, 1
_HEAD = struct.Struct("<BBBxI")
#: 'b': ino, size, count, exporter_len, name_len, exporter[64], name[32]
_BUFFER = struct.Struct("<BBBxIQQQBB6x64s32s")
#: 'f' 'g' 'G' 'd': tgid, fd, num (handle, minor), type, driver_len, ino, driver[24]
_FILE = struct.Struct("<BBBxIIIIHBxQ24s")
#: the same records read for kind, tgid, fd and ino only, and for kind and tgid only
_FILE_KEYS = struct.Struct("<2xBx4xII8xQ24x")
_FILE_PIDS = struct.Struct("<2xBx4xI44x")
#: the mapping records read for their tgid only
_VMA_PIDS = struct.Struct("<8xI52x")
#: 'm': tgid, major, minor, start, end, vm_flags, pgoff, ino
_VMA = struct.Struct("<BBBxIIII4xQQQQQ")
#: 'p': tgid, ppid, uid, flags, start_ns, cmdline_len, comm_len, comm[16]; then the cmdline
_TASK = struct.Struct("<BBBxIIIIIQIB3x16s")
_B, _F, _G, _MORE, _D, _M, _P = (ord(c) for c in "bfgGdmp")
#: the longest string each field holds (the C array less its NUL)
_EXPORTER_MAX, _NAME_MAX, _DRIVER_MAX, _COMM_MAX, _CMDLINE_MAX = 63, 31, 23, 15, 4096
_TASK_FLAGS = TASK_KERNEL_THREAD | TASK_CMDLINE_ELSEWHERE


class BpfRecordsError(ValueError):
    """Binary iterator records that are not what dmabuf-top's BPF object writes;
    ``str()`` is one line saying where and what."""


def _fail(stream: str, index: int, at: int, what: str) -> BpfRecordsError:
    return BpfRecordsError(f"{stream} records: record {index} (byte {at}): {what}")


def _check(data: bytes, rec: struct.Struct, kinds: bytes, stream: str,
           lengths: tuple[tuple[int, int], ...] = ()) -> int:
    """Raise unless ``data`` is whole records of ``rec``'s size, each with a valid head
    (magic, version, one of ``kinds``, its size) and its string lengths (byte offset,
    most) in bounds; the number of records."""
    size = rec.size
    n, rest = divmod(len(data), size)
    checks = [
        (0, MAGIC, "not a record head"), (1, VERSION, "another record format version"),
        (4, size & 0xFF, f"a size other than {size}"), (5, size >> 8, f"a size other than {size}"),
        (6, 0, f"a size other than {size}"), (7, 0, f"a size other than {size}"),
    ]
    for offset, want, what in checks:
        column = data[offset : n * size : size]
        if column.count(want) != n:
            i = next(i for i, b in enumerate(column) if b != want)
            raise _fail(stream, i, i * size, what)
    stray = data[2 : n * size : size].translate(None, kinds)
    if stray:
        i = next(i for i, b in enumerate(data[2 : n * size : size]) if b not in kinds)
        raise _fail(stream, i, i * size, f"unknown kind {stray[0]:#04x}")
    for offset, most in lengths:
        column = data[offset : n * size : size]
        if column and max(column) > most:
            i = next(i for i, b in enumerate(column) if b > most)
            raise _fail(stream, i, i * size, f"a string length {column[i]} over {most}")
    if rest:
        raise _fail(stream, n, n * size, f"{rest} bytes, not a whole {size}-byte record")
    return n


def _decoder() -> Callable[[bytes], str | None]:
    """bytes -> text as the /proc walk decodes kernel text (None for none), each
    distinct value decoded once per call (exporters and drivers repeat)."""
    memo: dict[bytes, str | None] = {b"": None}

    def text(raw: bytes) -> str | None:
        got = memo.get(raw, memo)
        if got is memo:
            got = memo[raw] = raw.decode("utf-8", "backslashreplace")
        return got  # type: ignore[return-value]

    return text


def parse_buffers(data: bytes) -> list[KernelBuffer]:
    """``dmabuf_buffers``: every buffer, with its file count."""
    check_buffers(data)
    text = _decoder()
    return [
        KernelBuffer(ino, size, text(exp[:exp_len]), text(name[:name_len]), count)
        for _m, _v, _k, _s, ino, size, count, exp_len, name_len, exp, name
        in _BUFFER.iter_unpack(data)
    ]


def check_buffers(data: bytes) -> int:
    """Raise unless ``data`` is whole, valid ``dmabuf_buffers`` records; their number."""
    return _check(data, _BUFFER, b"b", "dmabuf_buffers", ((32, _EXPORTER_MAX), (33, _NAME_MAX)))


def _check_files(data: bytes) -> None:
    _check(data, _FILE, b"fgGd", "dmabuf_files", ((22, _DRIVER_MAX),))


def parse_files(data: bytes) -> list[TaskFile]:
    """``dmabuf_files``' fds; a (pid, fd) seen twice (threads) counts once."""
    _check_files(data)
    seen: dict[tuple[int, int], int] = {}
    for kind, pid, fd, ino in _FILE_KEYS.iter_unpack(data):
        if kind == _F and pid and (pid, fd) not in seen:
            seen[(pid, fd)] = ino
    return [TaskFile(pid, fd, ino) for (pid, fd), ino in seen.items()]


def parse_handles(data: bytes) -> list[TaskHandle]:
    """``dmabuf_files``' GEM handles, each with its DRM file's device (``?`` when the
    file's record is missing); a (pid, fd, handle) seen twice counts once."""
    _check_files(data)
    kinds, size = data[2 :: _FILE.size], _FILE.size
    if _G not in kinds:
        return []
    at: list[int] = []  # the 'd' and 'g' records (found at C speed), in stream order
    for kind in (_D, _G):
        i = kinds.find(kind)
        while i >= 0:
            at.append(i)
            i = kinds.find(kind, i + 1)
    rows = [_FILE.unpack_from(data, i * size) for i in sorted(at)]
    text = _decoder()
    devices: dict[tuple[int, int], tuple[str, str | None]] = {}
    for _m, _v, kind, _s, pid, fd, minor, minor_type, dlen, _i, driver in rows:
        if kind == _D and (pid, fd) not in devices:
            devices[(pid, fd)] = (device_node(minor_type, minor), text(driver[:dlen]))
    seen: dict[tuple[int, int, int], TaskHandle] = {}
    for _m, _v, kind, _s, pid, fd, handle, _t, _dl, ino, _d in rows:
        if kind == _G and pid and (pid, fd, handle) not in seen:
            node, drv = devices.get((pid, fd), ("?", None))
            seen[(pid, fd, handle)] = TaskHandle(pid, fd, handle, ino, node, drv)
    return list(seen.values())


def gem_more(data: bytes) -> bool:
    """Whether one read of ``dmabuf_files`` says a DRM file has more dma-buf handles
    than it listed (a 'G' record): the loader then reads the next window."""
    return _MORE in data[2 :: _FILE.size]


def parse_vmas(data: bytes, page_size: int = 4096) -> list[TaskVma]:
    """``dmabuf_vmas``; a mapping seen twice (threads) counts once. ``page_size``
    turns vm_pgoff into the byte offset maps shows."""
    _check(data, _VMA, b"m", "dmabuf_vmas")
    perms: dict[int, str] = {}
    seen: dict[tuple[int, int], TaskVma] = {}
    for _m, _v, _k, _s, pid, major, minor, start, end, flags, pgoff, ino in _VMA.iter_unpack(data):
        if not pid or end < start or (pid, start) in seen:
            continue
        p = perms.get(flags) or perms.setdefault(flags, perms_of(flags))
        entry = MapsEntry(start, end, p, pgoff * page_size, ino, None, (major, minor))
        seen[(pid, start)] = TaskVma(pid, entry)
    return list(seen.values())


def holder_pids(files: bytes, vmas: bytes) -> set[int]:
    """The pids of the fd, GEM handle and mapping records (both streams checked)."""
    _check_files(files)
    _check(vmas, _VMA, b"m", "dmabuf_vmas")
    pids = {pid for kind, pid in _FILE_PIDS.iter_unpack(files) if kind == _F or kind == _G}
    pids.update(pid for (pid,) in _VMA_PIDS.iter_unpack(vmas))
    pids.discard(0)
    return pids


def parse_tasks(data: bytes, ticks_per_second: int = 100) -> dict[int, TaskFacts]:
    """``dmabuf_tasks``: pid -> its process's facts (records of 56 bytes and their
    cmdline). The start time (ns since boot) becomes clock ticks as stat rounds it."""
    tick = ns_per_tick(ticks_per_second)
    out: dict[int, TaskFacts] = {}
    fixed, end, at, i = _TASK.size, len(data), 0, 0
    while at < end:
        if end - at < fixed:
            raise _fail("dmabuf_tasks", i, at, f"{end - at} bytes, not a whole record")
        (magic, version, kind, size, pid, ppid, uid, flags, start_ns, cmd_len, comm_len,
         comm) = _TASK.unpack_from(data, at)
        if (magic, version, kind) != (MAGIC, VERSION, _P):
            raise _fail("dmabuf_tasks", i, at, "not a task record head of this version")
        if cmd_len > _CMDLINE_MAX or comm_len > _COMM_MAX:
            raise _fail("dmabuf_tasks", i, at, "a string length out of bounds")
        if size != fixed + cmd_len or at + size > end:
            raise _fail("dmabuf_tasks", i, at, f"size {size} for {cmd_len} cmdline bytes, "
                        f"{end - at} present")
        if pid:
            out[pid] = TaskFacts(
                pid, ppid, uid, start_ns // tick,
                comm[:comm_len].decode("utf-8", "backslashreplace"),
                cmdline_text(data[at + fixed : at + size]), flags & _TASK_FLAGS,
            )
        at += size
        i += 1
    return out
