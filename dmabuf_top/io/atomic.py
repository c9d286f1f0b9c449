"""The one way dmabuf-top writes a file (it usually runs as root, often into directories
other users can write): a new file made with O_EXCL|O_NOFOLLOW next to the target, then
renamed over it, so no symlink or planted file at the target is ever followed or written
through, and an existing file is never left half-written.

Modes: a new file gets ``0o666 & ~umask`` (the kernel applies the umask at creation).
Replacing a file keeps its permission bits only when it is a regular file (``lstat``:
never followed) owned by the effective user, and never its setuid, setgid or sticky
bits. ``rename`` replaces a symlink at the target, never the file it points to.
A FIFO or a character device at the target (``-o /dev/null``, a pipe) is a stream:
written into (O_NOFOLLOW, never created or replaced).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.textsafe import printable

#: O_NOFOLLOW: a symlink at the name is refused (ELOOP), never followed
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
#: tries at a free temp name (each a fresh random one) before giving up
_TRIES = 64


def _fail(path: Path, e: OSError | str) -> SnapshotError:
    why = e if isinstance(e, str) else (e.strerror or str(e))
    return SnapshotError(f"cannot write {printable(str(path))}: {why}")


def kept_mode(path: str | os.PathLike[str]) -> int | None:
    """The permission bits a replacement of ``path`` keeps: those of an existing regular
    file the effective user owns, without setuid/setgid/sticky; None (a new file's
    ``0o666 & ~umask``) for anything else: no file, a symlink, another user's file."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
        return None
    return stat.S_IMODE(st.st_mode) & 0o777


def is_stream(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` (lstat, never followed) is a FIFO or a character device."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    return _is_stream_mode(mode)


def _is_stream_mode(mode: int) -> bool:
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def open_stream(path: Path) -> int:
    """``path``, a FIFO or character device, open for writing (append); its fd. What was
    opened is checked again (fstat): a stream :func:`is_stream` saw may have been
    swapped for a regular file since (in a directory others can write), which is then
    refused, never appended to (SnapshotError)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        raise _fail(path, e) from None
    if not _is_stream_mode(os.fstat(fd).st_mode):
        os.close(fd)
        raise _fail(path, "not a FIFO or character device any more")
    return fd


def _temp_beside(path: Path, flags: int = 0) -> tuple[int, Path]:
    """A new, empty file (O_EXCL|O_NOFOLLOW, mode ``0o666 & ~umask``, and ``flags``) in
    ``path``'s directory under a random name; its fd and name."""
    directory = path.parent if str(path.parent) else Path(".")
    for _ in range(_TRIES):
        tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, _NEW | flags, 0o666), tmp
        except FileExistsError:  # taken (or planted): another name
            continue
        except OSError as e:
            raise _fail(path, e) from None
    raise _fail(path, "no free temp name")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def create_file(path: str | os.PathLike[str], *, replace: bool) -> int:
    """A new empty file at ``path`` open for writing (append); its fd. ``replace``:
    a temp file renamed over whatever is at ``path`` (keeping the mode as
    :func:`kept_mode` says); else created in place with O_EXCL|O_NOFOLLOW, and
    anything already there (a symlink too) is a :class:`SnapshotError`."""
    p = Path(path)
    if is_stream(p):
        return open_stream(p)
    if not replace:
        try:
            return os.open(p, _NEW | os.O_APPEND, 0o666)
        except FileExistsError:
            raise _fail(p, "file exists") from None
        except OSError as e:
            raise _fail(p, e) from None
    fd, tmp = _temp_beside(p, os.O_APPEND)
    try:
        mode = kept_mode(p)
        if mode is not None:
            os.fchmod(fd, mode)
        os.replace(tmp, p)
    except OSError as e:
        os.close(fd)
        _unlink(tmp)
        raise _fail(p, e) from None
    return fd


def write_atomic(
    path: str | os.PathLike[str], text: str | bytes, *, replace: bool = True
) -> None:
    """Write ``text`` (or bytes) to ``path`` through a temp file in the same directory:
    written, fsynced, then renamed over ``path`` (``replace``) or linked to it only if
    nothing is there (not ``replace``: :class:`FileExistsError` when something is);
    a FIFO or character device at ``path`` is written into.
    Any other failure is a :class:`SnapshotError` (one line)."""
    p = Path(path)
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    if is_stream(p):
        fd = open_stream(p)
        try:
            _write_all(fd, data)
        except OSError as e:
            raise _fail(p, e) from None
        finally:
            os.close(fd)
        return
    fd, tmp = _temp_beside(p)
    try:
        try:
            _write_all(fd, data)
            mode = kept_mode(p) if replace else None
            if mode is not None:
                os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, p)
        else:
            _link_new(tmp, p, data)
            _unlink(tmp)
    except FileExistsError:
        _unlink(tmp)
        raise
    except OSError as e:
        _unlink(tmp)
        raise _fail(p, e) from None


def _link_new(tmp: Path, path: Path, data: bytes) -> None:
    """``tmp`` also at ``path``, only if nothing is there (EEXIST for anything, links too);
    where hard links are not supported (vfat, some FUSE), ``data`` written to ``path``
    made with O_EXCL|O_NOFOLLOW."""
    try:
        os.link(tmp, path, follow_symlinks=False)
        return
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
            raise
    fd = os.open(path, _NEW, 0o666)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    except OSError:
        _unlink(path)  # ours: made just now
        raise
    finally:
        os.close(fd)


def _unlink(tmp: Path) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass
