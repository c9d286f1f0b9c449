"""Text of dmabuf-top's own BPF iterators (collect/bpf/dmabuf_top.bpf.c): buffers
(``b INODE SIZE COUNT xEXPORTER xNAME``), dma-buf fds (``f TGID FD INODE``) and
dma-buf mappings (``m TGID START END FLAGS PGOFF INODE MAJOR MINOR``).

Strings come hex-encoded (untrusted bytes cannot end a field); they are decoded as
the /proc walk decodes kernel text (UTF-8, undecodable bytes backslash-escaped).
Malformed lines are skipped, never raised on."""

from __future__ import annotations

from typing import NamedTuple

from dmabuf_top.collect.parsers.kernelwide import KernelBuffer
from dmabuf_top.collect.parsers.maps import MapsEntry
from dmabuf_top.collect.parsers.numbers import parse_int

# vm_flags bits, as /proc/PID/maps turns them into "rwxs"
_VM_READ, _VM_WRITE, _VM_EXEC, _VM_MAYSHARE = 0x1, 0x2, 0x4, 0x80
_PID_LIMIT = 1 << 32


class TaskFile(NamedTuple):
    """An open dma-buf fd of a process."""

    pid: int
    fd: int
    inode: int


class TaskVma(NamedTuple):
    """A mapping of a dma-buf in a process (``entry`` as a maps line would give it)."""

    pid: int
    entry: MapsEntry


def _text(field: str) -> str | None:
    """``x`` + hex -> the string (None for an empty one or junk)."""
    if not field.startswith("x") or len(field) % 2 == 0:
        return None
    try:
        raw = bytes.fromhex(field[1:])
    except ValueError:
        return None
    return raw.decode("utf-8", "backslashreplace") if raw else None


def _fields(text: str, tag: str, count: int) -> list[list[str]]:
    out = []
    for line in text.split("\n"):
        parts = line.split(" ")
        if len(parts) == count and parts[0] == tag:
            out.append(parts[1:])
    return out


def parse_bpf_buffers(text: str) -> list[KernelBuffer]:
    """The ``dmabuf_buffers`` iterator: every buffer, with its file count."""
    out = []
    for ino, size, count, exporter, name in _fields(text, "b", 6):
        inode, nbytes, refs = parse_int(ino), parse_int(size), parse_int(count)
        if inode is None or nbytes is None:
            continue
        out.append(KernelBuffer(inode, nbytes, _text(exporter), _text(name), refs))
    return out


def _pid(text: str) -> int | None:
    value = parse_int(text)
    return value if value is not None and 0 < value < _PID_LIMIT else None


def parse_bpf_files(text: str) -> list[TaskFile]:
    """The ``dmabuf_files`` iterator; a (pid, fd) seen twice (threads) counts once."""
    seen: dict[tuple[int, int], TaskFile] = {}
    for tgid, fd_text, ino in _fields(text, "f", 4):
        pid, fd, inode = _pid(tgid), parse_int(fd_text), parse_int(ino)
        if pid is None or fd is None or inode is None or fd >= _PID_LIMIT:
            continue
        seen.setdefault((pid, fd), TaskFile(pid, fd, inode))
    return list(seen.values())


def perms_of(vm_flags: int) -> str:
    """The ``rwxs`` column of /proc/PID/maps for these vm_flags."""
    return (
        ("r" if vm_flags & _VM_READ else "-")
        + ("w" if vm_flags & _VM_WRITE else "-")
        + ("x" if vm_flags & _VM_EXEC else "-")
        + ("s" if vm_flags & _VM_MAYSHARE else "p")
    )


def parse_bpf_vmas(text: str, page_size: int = 4096) -> list[TaskVma]:
    """The ``dmabuf_vmas`` iterator; a mapping seen twice (threads) counts once.
    ``page_size`` turns vm_pgoff into the byte offset maps shows."""
    seen: dict[tuple[int, int], TaskVma] = {}
    for tgid, lo, hi, flags, pgoff, ino, major, minor in _fields(text, "m", 9):
        pid = _pid(tgid)
        start, end, vm_flags = parse_int(lo, 16), parse_int(hi, 16), parse_int(flags, 16)
        pages, inode = parse_int(pgoff), parse_int(ino)
        dev_major, dev_minor = parse_int(major), parse_int(minor)
        if (
            pid is None or start is None or end is None or vm_flags is None or pages is None
            or inode is None or dev_major is None or dev_minor is None or end < start
        ):
            continue
        entry = MapsEntry(
            start, end, perms_of(vm_flags), pages * page_size, inode, None,
            (dev_major, dev_minor),
        )
        seen.setdefault((pid, start), TaskVma(pid, entry))
    return list(seen.values())
