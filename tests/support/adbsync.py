"""adb's file sync protocol (``sync:``, v1) for the test peer (adbpeer.py), inside one
directory: what ``adb push``/``adb pull`` and adbutils' sync API speak.

Requests: STAT/SEND/RECV + a path (at most 1,024 bytes), QUIT. SEND's path ends in
",MODE"; DATA chunks of at most 64 KiB follow, then DONE with the mtime; the answer is
OKAY or FAIL + message. RECV answers DATA chunks then DONE, or FAIL. STAT answers mode,
size and mtime (zeros: absent). Only paths inside the directory are served (its
directories resolved, a path's last component never followed): others are refused
(FAIL) or, for STAT, absent. At most 64 MiB a file. Stdlib only (it runs in the VM).
"""

from __future__ import annotations

import os
import struct
import threading
from typing import Any

SYNC_CHUNK = 64 * 1024  # adb's SYNC_DATA_MAX
SYNC_PATH_MAX = 1024
SYNC_FILE_MAX = 64 << 20


class Sync:
    """One ``sync:`` stream of a peer connection (``conn``: its send/write/finish;
    ``st``: the stream, whose inbox the connection fills and whose last WRTE we
    acknowledge with ``okay`` once we need more), served inside ``tmp``."""

    def __init__(self, conn: Any, st: Any, okay: int, tmp: str) -> None:
        self.conn, self.st, self.okay = conn, st, okay
        self.root = os.path.realpath(tmp)

    def read(self, n: int) -> bytes:
        st = self.st
        with st.more:
            while len(st.inbox) < n:
                if st.closed.is_set():
                    raise EOFError
                if st.unacked:  # the host waits for this before it writes more
                    st.unacked = False
                    self.conn.send(self.okay, st.local, st.remote)
                st.more.wait(1.0)
            out = bytes(st.inbox[:n])
            del st.inbox[:n]
            return out

    def reply(self, ident: bytes, arg: int, data: bytes = b"") -> None:
        if not self.conn.write(self.st, ident + struct.pack("<I", arg) + data):
            raise EOFError

    def fail(self, msg: str) -> None:
        data = msg.encode()
        self.reply(b"FAIL", len(data), data)

    def inside(self, path: str) -> str | None:
        """The path if it lies in the temporary directory (its directories resolved,
        the last component kept as it is); None otherwise."""
        if not path.startswith("/") or "\0" in path:
            return None
        norm = os.path.normpath(path)
        name = os.path.basename(norm)
        parent = os.path.realpath(os.path.dirname(norm))
        inside = parent == self.root or parent.startswith(self.root + "/")
        if name in ("", ".", "..") or not inside:
            return None
        return os.path.join(parent, name)

    def run(self) -> None:
        try:
            while True:
                ident, n = self.read(4), struct.unpack("<I", self.read(4))[0]
                if ident == b"QUIT":
                    break
                if ident not in (b"STAT", b"SEND", b"RECV") or n > SYNC_PATH_MAX:
                    self.fail("unknown sync request or path too long")
                    break
                path = self.read(n).decode("utf-8", "surrogateescape")
                if ident == b"STAT":
                    self.stat(path)
                elif ident == b"SEND":
                    if not self.send(path):
                        break
                else:
                    self.recv(path)
        except (EOFError, OSError):
            pass
        self.conn.finish(self.st)

    def stat(self, path: str) -> None:
        where = self.inside(path)
        try:
            if where is None:
                raise FileNotFoundError
            s = os.lstat(where)
            mode, size, mtime = s.st_mode, s.st_size & 0xFFFFFFFF, int(s.st_mtime)
        except OSError:
            mode = size = mtime = 0
        self.reply(b"STAT", mode, struct.pack("<II", size, mtime))

    def send(self, spec: str) -> bool:
        """SEND PATH,MODE then DATA chunks and DONE MTIME; the file written (through
        a temporary name in the same directory) only when whole and allowed."""
        path, _, mode_text = spec.rpartition(",")
        where = self.inside(path)
        mode = int(mode_text) & 0o777 if mode_text.isdigit() else 0o644
        tmp = f"{where}.adbpeer-{os.getpid()}-{threading.get_ident()}" if where else None
        error = "" if where else f"{path}: outside the device's temporary directory"
        fd, size = -1, 0
        if tmp is not None:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            except OSError as e:
                error = f"{path}: {e.strerror}"
        try:
            while True:
                ident, n = self.read(4), struct.unpack("<I", self.read(4))[0]
                if ident == b"DONE":
                    break
                if ident != b"DATA" or n > SYNC_CHUNK:
                    self.fail("bad sync DATA")
                    return False
                data = self.read(n)
                size += n
                if size > SYNC_FILE_MAX:
                    error = error or f"{path}: larger than {SYNC_FILE_MAX >> 20} MiB"
                if fd >= 0 and not error:
                    os.write(fd, data)
            if fd >= 0 and not error:
                os.fchmod(fd, mode)
                os.close(fd)
                fd = -1
                os.utime(tmp, (n, n))
                os.replace(tmp, where)  # type: ignore[arg-type]
        finally:
            if fd >= 0:
                os.close(fd)
            if tmp is not None and os.path.lexists(tmp):
                os.unlink(tmp)
        if error:
            self.fail(error)
        else:
            self.reply(b"OKAY", 0)
        return True

    def recv(self, path: str) -> None:
        where = self.inside(path)
        try:
            if where is None:
                raise PermissionError(f"{path}: outside the device's temporary directory")
            fd = os.open(where, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as e:
            self.fail(str(e.strerror or e.args[0]))
            return
        try:
            sent = 0
            while sent <= SYNC_FILE_MAX:
                chunk = os.read(fd, SYNC_CHUNK)
                if not chunk:
                    break
                sent += len(chunk)
                self.reply(b"DATA", len(chunk), chunk)
        finally:
            os.close(fd)
        self.reply(b"DONE", 0)
