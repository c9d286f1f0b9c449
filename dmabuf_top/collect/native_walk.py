"""The local /proc walk by the shipped native collector (its ``local`` option,
``collect/native/localwalk.c``): the binary for this machine, opened once and checked, run
through that open file for every walk, and its records decoded into the very
:class:`ProcText` the Python walk (:mod:`dmabuf_top.collect.proc_walk`) gives; when it
cannot be used the Python walk runs (and the snapshot says why in one line).

The check, made once on the open file (so a file put in its place later is never run):
a regular file, owned by root or by the user dmabuf-top runs as, that no other user may
write. Run as root, dmabuf-top so never runs a binary another user could have changed.
"""

from __future__ import annotations

import bisect
import os
import stat
import subprocess
import sys
from dataclasses import dataclass, field

from dmabuf_top.collect.adb_native import BINARIES, MACHINES
from dmabuf_top.collect.adb_stream import MAX_OUTPUT
from dmabuf_top.collect.parsers.procstat import cmdline_text
from dmabuf_top.collect.proc_walk import scan_pid
from dmabuf_top.collect.rawscan import ProcText
from dmabuf_top.textsafe import printable

#: the first line of the walk's records, and the last (localwalk.c)
HEADER = b"DMABUF-TOP-WALK 1\n"
END = b"e\n"
#: what the collector prints before its reason when it gives up (files.c: die)
ERROR_PREFIX = b"DMABUF-TOP-COLLECTOR-ERROR "


class NativeWalkUnusable(Exception):
    """Why the native walk cannot run here (str(): one line)."""


@dataclass
class WalkRecords:
    """What one walk read: the holders, the pids refused, the holders' cgroup text."""

    procs: list[ProcText] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)
    cgroups: dict[int, str] = field(default_factory=dict)


def _text(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


#: how os.readlink decodes a link (the Python walk's links)
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def _malformed(line: bytes) -> NativeWalkUnusable:
    return NativeWalkUnusable(f"a malformed native walk record: {printable(_text(line[:80]))!r}")


def parse_walk(data: bytes) -> WalkRecords:
    """The records of one native walk (localwalk.c), decoded as the Python walk decodes
    what it reads: links as os.readlink does, cmdline as :func:`cmdline_text`, every
    other text as utf-8 with undecodable bytes backslash-escaped. NativeWalkUnusable
    when they are not whole or not well formed."""
    if data.startswith(ERROR_PREFIX):
        why = data[len(ERROR_PREFIX):].split(b"\n", 1)[0]
        raise NativeWalkUnusable(f"the native walk failed: {printable(_text(why[:120]))}")
    if not data.startswith(HEADER) or not data.endswith(END):
        raise NativeWalkUnusable("the native walk's output is not whole")
    out = WalkRecords()
    at, end = len(HEADER), len(data) - len(END)
    while at < end:
        nl = data.find(b"\n", at, end)
        line = data[at:nl] if nl >= 0 else data[at:end]
        kind, _, rest = line.partition(b" ")
        try:
            nums = list(map(int, rest.split(b" ")))
        except ValueError:
            raise _malformed(line) from None
        if nl < 0 or not nums or nums[0] < 1 or min(nums[1:], default=0) < -1:
            raise _malformed(line)
        at = nl + 1
        if kind == b"u" and len(nums) == 1:
            out.unreadable.append(nums[0])
            continue
        if kind != b"p" or len(nums) < 9 or len(nums) != 9 + 3 * nums[8] or min(
                nums[1:3], default=0) < 0:
            raise _malformed(line)
        pid, nlinks, ninfos, nmaps, nstat, ncmd, uid, ncg, nfd = nums[:9]
        pt = ProcText(pid=pid)
        if nfd:
            fds = nums[9::3]
            links = data[at:at + nlinks].decode(_FS_ENCODING, _FS_ERRORS).split("\0")
            at += nlinks
            infos = _text(data[at:at + ninfos]).split("\0")
            at += ninfos
            if len(links) != nfd + 1 or len(infos) != nfd + 1 or links.pop() or infos.pop():
                raise NativeWalkUnusable("a native walk record's texts do not match its fds")
            pt.links = dict(zip(fds, links, strict=True))
            pt.fdinfo = dict(zip(fds, infos, strict=True))
            inos, magic = nums[10::3], nums[11::3]
            if max(inos) >= 0:
                pt.fd_inodes = {fd: ino for fd, ino in zip(fds, inos, strict=True) if ino >= 0}
            if max(magic) > 0:
                pt.magic_fds = {fd for fd, m in zip(fds, magic, strict=True) if m}
        if nmaps > 0:
            pt.maps = _text(data[at:at + nmaps]).split("\n")[:-1]
        at += max(nmaps, 0)
        if nstat >= 0:
            pt.stat = _text(data[at:at + nstat])
            at += nstat
        if ncmd >= 0:
            pt.cmdline = cmdline_text(data[at:at + ncmd])
            pt.uid = uid if uid >= 0 else None
            at += ncmd
        if ncg >= 0:
            out.cgroups[pid] = _text(data[at:at + ncg])
            at += ncg
        if at > end:
            raise NativeWalkUnusable("the native walk's records run past their end")
        out.procs.append(pt)
    return out


def shipped_binary(machine: str | None = None) -> str:
    """The path of the collector shipped for ``machine`` (``uname -m``; default this
    one's), next to this module (no lazy import: a process that dropped root for a user
    who may not read the standard library finds it too); NativeWalkUnusable when none
    is shipped for it."""
    machine = machine or os.uname().machine
    abi = MACHINES.get(machine)
    if abi not in BINARIES:
        raise NativeWalkUnusable(f"no native collector for this machine ({printable(machine)})")
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "native", BINARIES[abi])


def open_checked(path: str, euid: int) -> int:
    """``path`` opened (no link followed) when it is a regular file of root or of
    ``euid`` that no other user may write; NativeWalkUnusable (and nothing open) else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as e:
        raise NativeWalkUnusable(f"cannot open {printable(path)}: {e.strerror}") from None
    try:
        st = os.fstat(fd)
    except OSError as e:
        os.close(fd)
        raise NativeWalkUnusable(f"cannot stat {printable(path)}: {e.strerror}") from None
    why = ""
    if not stat.S_ISREG(st.st_mode):
        why = "is not a regular file"
    elif st.st_uid not in (0, euid):
        why = f"is owned by uid {st.st_uid}, neither root nor this user"
    elif st.st_mode & 0o022:
        why = f"is writable by other users (mode {stat.filemode(st.st_mode)})"
    if why:
        os.close(fd)
        raise NativeWalkUnusable(f"{printable(path)} {why}")
    return fd


class NativeWalker:
    """The shipped collector for this machine (or the program at ``path``), opened and
    checked once; :meth:`walk` runs it. NativeWalkUnusable when none is shipped for the
    machine or it fails the check."""

    def __init__(self, path: str | None = None) -> None:
        self.fd = open_checked(path or shipped_binary(), os.geteuid())

    def walk(self, proc: str = "/proc") -> WalkRecords:
        """One walk of ``proc``: the binary run through its open file (what was checked
        is what runs), its output bounded by MAX_OUTPUT."""
        try:
            child = subprocess.Popen(
                [f"/proc/self/fd/{self.fd}", "local", proc], stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, pass_fds=(self.fd,))
        except OSError as e:
            raise NativeWalkUnusable(
                f"the native collector does not run here: {e.strerror}") from None
        with child:
            assert child.stdout is not None
            data = child.stdout.read(MAX_OUTPUT + 1)
            if len(data) > MAX_OUTPUT:
                child.kill()
                raise NativeWalkUnusable(
                    f"the native walk printed more than {MAX_OUTPUT >> 20} MiB")
            rc = child.wait()
        records = parse_walk(data)
        if rc != 0:
            raise NativeWalkUnusable(f"the native walk exited with status {rc}")
        me = os.getpid()
        if me in records.unreadable:
            read_itself(records, me, proc)
        return records

    def close(self) -> None:
        os.close(self.fd)


def read_itself(records: WalkRecords, me: int, proc: str) -> None:
    """This process read by itself, as the Python walk reads it, where the walk (its
    child) was refused it: a process that dropped root for another user is no longer
    dumpable, and only it may then read its own fds. Its record goes in pid order, where
    the walk's listing of /proc puts it."""
    records.unreadable.remove(me)
    try:
        pt = scan_pid(me, proc, records.cgroups)
    except OSError:
        records.unreadable.append(me)  # refused to itself too: as the Python walk says
        return
    if pt is not None:
        bisect.insort(records.procs, pt, key=lambda p: p.pid)
