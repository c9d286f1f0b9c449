"""The /proc walk of one process: readlink every fd (relative to an fd of the ``fd``
directory, so the kernel does not walk ``/proc/PID/fd`` again for each one), read fdinfo
only of dma-buf fds (or give again the text the last walk read, where stat proves the fd
unchanged: :mod:`dmabuf_top.collect.fdinfo_reuse`), read ``maps`` and decode only its
``/dmabuf`` lines; stat, cmdline, uid and cgroup only of pids that hold something, while
their directory is open."""

from __future__ import annotations

import ctypes
import os
from functools import lru_cache

from dmabuf_top.collect.fdinfo_reuse import KnownFd
from dmabuf_top.collect.parsers.fdinfo import DMABUF_MAGIC, is_dmabuf_link
from dmabuf_top.collect.parsers.procstat import parse_stat
from dmabuf_top.collect.proc_facts import O_DIR, read_bytes, read_holder_facts, read_record
from dmabuf_top.collect.rawscan import ProcText

_GONE = (FileNotFoundError, ProcessLookupError)


@lru_cache(maxsize=1)
def _libc_statfs():  # noqa: ANN202 - ctypes function, looked up once
    libc = ctypes.CDLL(None, use_errno=True)
    fn = libc.statfs
    fn.argtypes = (ctypes.c_char_p, ctypes.c_void_p)
    return fn


def fs_magic(path: str) -> int | None:
    """statfs(2)'s f_type of the filesystem ``path`` is on (symlinks followed), or
    None when it cannot be asked (Python has no statfs)."""
    buf = ctypes.create_string_buffer(256)  # struct statfs; f_type comes first
    try:
        if _libc_statfs()(os.fsencode(path), buf) != 0:
            return None
    except (OSError, AttributeError):
        return None
    return ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF


def dmabuf_dev(procs: list[ProcText], proc: str = "/proc") -> tuple[int, int] | None:
    """(major, minor) of the dma-buf filesystem: stat of one fd the kernel says is a
    dma-buf (one stat per scan, not per fd)."""
    for pt in procs:
        for fd, info in pt.fdinfo.items():
            if "\nexp_name:" not in info and fd not in pt.magic_fds:
                continue
            try:
                st = os.stat(f"{proc}/{pt.pid}/fd/{fd}")
            except OSError:
                continue  # closed since: try the next one
            return os.major(st.st_dev), os.minor(st.st_dev)
    return None


def dmabuf_map_lines(maps: bytes) -> list[str]:
    """The lines of a ``maps`` text that mention ``/dmabuf`` (without their newline),
    each decoded as it would be in the whole text (utf-8, undecodable bytes
    backslash-escaped): found in the bytes, so the other lines, most of a
    process's, are never decoded nor split."""
    out = []
    find = maps.find
    at = find(b"/dmabuf")
    while at >= 0:
        start = maps.rfind(b"\n", 0, at) + 1
        end = find(b"\n", at)
        if end < 0:
            end = len(maps)
        out.append(maps[start:end].decode("utf-8", "backslashreplace"))
        at = find(b"/dmabuf", end)
    return out


def scan_pid(
    pid: int, proc: str = "/proc", cgroups: dict[int, str] | None = None,
    known: dict[int, KnownFd] | None = None, reused: dict[int, list[int]] | None = None,
    proc_fd: int | None = None,
) -> ProcText | None:
    """Read one process. None when it holds nothing; raises PermissionError
    when its fd directory or maps are unreadable; FileNotFoundError /
    ProcessLookupError when it vanished. A holder's ``cgroup`` text goes in
    ``cgroups`` (when given), read while its directory is open. ``known``: what the
    last walk read of this pid's fds: an fd that stat proves the same file gets that
    fdinfo text again, and is listed in ``reused`` (for the caller to confirm: the same
    process, bufinfo's count). ``proc_fd``: ``proc`` opened, to open the pid in."""
    if proc_fd is None:
        pdir = os.open(f"{proc}/{pid}", O_DIR)
    else:
        pdir = os.open(str(pid), O_DIR, dir_fd=proc_fd)
    try:
        pt: ProcText | None = None
        again: list[int] = []
        fddir = os.open("fd", O_DIR, dir_fd=pdir)
        try:
            readlink, stat = os.readlink, os.stat
            # listed by path: 5 system calls, where listdir(fd) makes 8 (it dups the fd);
            # a pid taken meanwhile by another process lists fds this fddir has not
            for name in os.listdir(f"{proc}/{pid}/fd"):
                try:
                    link = readlink(name, dir_fd=fddir)
                except _GONE:
                    continue
                # most fds are not dma-bufs: a substring test first, no call per fd
                if "dmabuf" not in link or not is_dmabuf_link(link):
                    continue
                fd = int(name)
                k = known.get(fd) if known else None
                if k is not None and k.link == link:
                    # the same file: the same inode on the dma-buf filesystem (stat of the
                    # fd, not its fdinfo); a known text has ino: and exp_name:
                    try:
                        st = stat(name, dir_fd=fddir)
                    except OSError:
                        st = None  # then its fdinfo is read (and says whether it is gone)
                    if st is not None and st.st_ino == k.inode and st.st_dev == k.dev:
                        if pt is None:
                            pt = ProcText(pid=pid)
                        pt.links[fd] = link
                        pt.fdinfo[fd] = k.text
                        again.append(fd)
                        continue
                try:
                    info = read_record(f"fdinfo/{name}", dir_fd=pdir)
                except _GONE:
                    continue
                if pt is None:
                    pt = ProcText(pid=pid)
                pt.links[fd] = link
                pt.fdinfo[fd] = info
                if "\nino:" not in info:
                    try:
                        pt.fd_inodes[fd] = os.stat(name, dir_fd=fddir).st_ino
                    except OSError:
                        pass
                if "\nexp_name:" not in info and fs_magic(f"{proc}/{pid}/fd/{name}") == (
                    DMABUF_MAGIC
                ):
                    pt.magic_fds.add(fd)  # fdinfo said nothing: the filesystem says
        finally:
            os.close(fddir)
        lines = dmabuf_map_lines(read_bytes("maps", dir_fd=pdir))
        if lines:
            if pt is None:
                pt = ProcText(pid=pid)
            pt.maps = lines
        if pt is not None:
            read_holder_facts(pt, pdir)  # its stat: the start time that proves the process
            if cgroups is not None:
                try:
                    cgroups[pid] = read_record("cgroup", dir_fd=pdir)
                except OSError:
                    pass  # gone, or hidden: read_cgroups tries again
            if again and reused is not None:
                reused[pid] = again
        return pt
    finally:
        os.close(pdir)


def read_fdinfo_again(pt: ProcText, fds: list[int], pdir: int) -> None:
    """Read the fdinfo of ``fds`` of ``pt`` (``pdir``: its open /proc/PID) instead of
    the text the last walk read; an fd closed since is left out, as if closed before
    the walk came."""
    for fd in fds:
        try:
            pt.fdinfo[fd] = read_record(f"fdinfo/{fd}", dir_fd=pdir)
        except OSError:
            del pt.fdinfo[fd], pt.links[fd]


def read_late(pt: ProcText, fds: list[int], start: int | None, proc: str = "/proc") -> None:
    """Read, after the walk, the fdinfo of ``fds`` of ``pt`` it gave again, when the
    process is still the one the walk read (started at ``start``); else leave them out,
    as if closed before the walk came."""
    try:
        pdir = os.open(f"{proc}/{pt.pid}", O_DIR)
    except OSError:
        pdir = None
    try:
        st = None
        if pdir is not None:
            try:
                st = parse_stat(read_record("stat", dir_fd=pdir))
            except OSError:
                pass
        if pdir is not None and st is not None and start is not None and st.start_time == start:
            read_fdinfo_again(pt, fds, pdir)
        else:
            for fd in fds:
                del pt.fdinfo[fd], pt.links[fd]
    finally:
        if pdir is not None:
            os.close(pdir)


def list_pids(proc: str = "/proc") -> list[int]:
    return [int(n) for n in os.listdir(proc) if n.isdigit()]
